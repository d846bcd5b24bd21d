import Testing
@testable import LitmusParquet
