// litmus-fake-instruments: servers that speak instrument protocols on loopback, for tests and
// benchmarks. Each prints one line `port <n>` (or `path <p>`) once it listens, then serves
// until its standard input closes or it is killed.
//
//   litmus-fake-instruments socket [--port N] [--serial S]     raw SCPI socket
//   litmus-fake-instruments vxi11 [--port N]                   VXI-11 (--port is the portmapper's)
//   litmus-fake-instruments hislip [--port N]                  HiSLIP
//   litmus-fake-instruments line-psu [--port N] [--log FILE]   a two-output supply, plain line protocol
import Foundation

let usage = """
    usage: litmus-fake-instruments socket [--port N] [--serial S] [--ipv6] [--fault KIND]   raw SCPI socket
           litmus-fake-instruments vxi11 [--port N] [options]     VXI-11 (--port is the portmapper's)
           litmus-fake-instruments hislip [--port N] [options]    HiSLIP
           litmus-fake-instruments line-psu [--port N] [--log FILE]   a non-SCPI two-output supply
    Each server prints `port <n>` once it listens and serves until its standard input closes.
    An unknown option is an error that names the options of that server.
    """

// Servers print their `port <n>` line with FileHandle.standardOutput.write (unbuffered).
let arguments = Array(CommandLine.arguments.dropFirst())
// --help anywhere prints the usage and exits 0 before any server starts.
if arguments.contains(where: { $0 == "--help" || $0 == "-h" }) {
    print(usage)
    exit(0)
}
guard let command = arguments.first else {
    FileHandle.standardError.write(Data("error: no server named\n\(usage)\n".utf8))
    exit(2)
}
let rest = Array(arguments.dropFirst())

/// Exits when standard input closes, so a test that dies never leaves a server behind.
func exitWhenStdinCloses() {
    Thread.detachNewThread {
        var byte: UInt8 = 0
        while read(0, &byte, 1) > 0 {}
        exit(0)
    }
}

switch command {
case "socket": SocketServer.main(rest)
case "vxi11": VXI11Server.main(rest)
case "hislip": HiSLIPServer.main(rest)
case "line-psu": LinePSUServer.main(rest)
default:
    FileHandle.standardError.write(Data("error: unknown server '\(command)'; use socket, vxi11, hislip or line-psu\n\(usage)\n".utf8))
    exit(2)
}
