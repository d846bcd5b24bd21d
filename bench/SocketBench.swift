/// STUB: being written.
func runSocketBenchmark() {
    print("Socket: not built yet")
}
