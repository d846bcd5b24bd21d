/// STUB: being written.
func runHiSLIPBenchmark() {
    print("HiSLIP: not built yet")
}
