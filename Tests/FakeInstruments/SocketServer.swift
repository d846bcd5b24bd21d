import Foundation

/// STUB: being written.
enum SocketServer {
    static func main(_ arguments: [String]) -> Never {
        FileHandle.standardError.write(Data("not built yet\n".utf8))
        exit(2)
    }
}
