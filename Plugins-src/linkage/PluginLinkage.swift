// Empty on purpose: this target exists for its linker settings (-z nodelete), which it brings to
// every driver plugin product of the Litmus package. See Package.swift.
