/// STUB: being written.
func runVXI11Benchmark() {
    print("VXI11: not built yet")
}
