/// STUB: being written.
func runSerialBenchmark() {
    print("Serial: not built yet")
}
