import Foundation
import Testing

/// Runs a program on a real pseudo-terminal (Python's `pty`, from .venv) and plays a script
/// on it as an operator would: `["expect", text]` waits for output, `["send", text]` types,
/// `["file", path]` waits for a file to appear, `["touch", path]` creates one.
enum TerminalSession {
    struct Result {
        var status: Int
        var output: String
        /// The script step that did not happen (nil: all did).
        var stuck: String?
    }

    /// - Parameter guardSeconds: how long the whole script may take before the program is
    ///   killed: a guard against a hang, not a timing assert.
    static func run(
        _ argv: [String], environment: [String: String], directory: String, script: [[String]], guardSeconds: Int = 120
    ) throws -> Result {
        var env = environment
        env["TERM"] = "xterm"
        let spec: [String: Any] = ["argv": argv, "env": env, "cwd": directory, "script": script, "guard": guardSeconds]
        let program = """
            import json, os, pty, select, signal, sys, time
            spec = json.loads(sys.argv[1])
            pid, fd = pty.fork()
            if pid == 0:
                os.chdir(spec["cwd"])
                os.execve(spec["argv"][0], spec["argv"], spec["env"])
            out, seen, eof, stuck = b"", 0, False, None
            deadline = time.time() + spec["guard"]
            def pump(timeout):
                global out, eof
                if eof:
                    time.sleep(timeout)
                    return
                r, _, _ = select.select([fd], [], [], timeout)
                if r:
                    try:
                        data = os.read(fd, 65536)
                    except OSError:
                        data = b""
                    if not data:
                        eof = True
                    out += data
            for kind, arg in spec["script"]:
                if kind == "file":
                    while not os.path.exists(arg) and not eof and time.time() < deadline:
                        pump(0.02)
                    ok = os.path.exists(arg)
                elif kind == "touch":
                    open(arg, "w").close()
                    ok = True
                elif kind == "expect":
                    while out.find(arg.encode(), seen) < 0 and not eof and time.time() < deadline:
                        pump(0.02)
                    at = out.find(arg.encode(), seen)
                    ok = at >= 0
                    if ok:
                        seen = at + len(arg)
                elif kind == "send":
                    os.write(fd, arg.encode())
                    ok = True
                if not ok:
                    stuck = kind + " " + arg
                    break
            while not eof and time.time() < deadline:
                pump(0.1)
            if not eof:
                os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            print(json.dumps({"status": os.waitstatus_to_exitcode(status), "output": out.decode(errors="replace"), "stuck": stuck}))
            """
        let text = String(decoding: try JSONSerialization.data(withJSONObject: spec), as: UTF8.self)
        let result = try TestPython.json(program, [text]) as! [String: Any]
        return Result(status: result["status"] as! Int, output: result["output"] as! String, stuck: result["stuck"] as? String)
    }
}
