import Foundation
import LitmusAnalytics
import Hummingbird
import Litmus
import LitmusJSON
import LitmusRunner
import Logging

/// `litmus serve`: the operator screen in the browser, on the station runner's bus.
///
/// ```swift
/// let server = try StationServer(.init(runner: .init(station: "stations/bench_mock.yaml",
///                                                    command: [".build/debug/litmus-example", "--serial", "{serial}"]),
///                                      host: "127.0.0.1", port: 8080))
/// try await server.run { url in print("open \(url)") }
/// ```
public final class StationServer: Sendable {
    /// How the server runs.
    public struct Options: Sendable {
        public var runner: StationRunner.Options
        /// The address to listen on: loopback unless told otherwise.
        public var host: String
        /// 0 picks a free port (printed when the server runs).
        public var port: Int
        /// `name role token` lines (roles operator, engineer); readable by its owner only.
        public var usersFile: String?
        /// The engineer token (`LITMUS_SERVE_TOKEN`), instead of one made and printed at start-up.
        public var token: String?

        public init(runner: StationRunner.Options, host: String = "127.0.0.1", port: Int = 8080, usersFile: String? = nil, token: String? = nil) {
            self.runner = runner
            self.host = host
            self.port = port
            self.usersFile = usersFile
            self.token = token
        }
    }

    public let options: Options
    let session: StationSession
    let auth: ServeAuth

    /// Checks the bench (the runner's check), opens the prompt channel, reads the users.
    ///
    /// - Throws: ``RunnerError`` for a refused bench; an error saying what to fix for a bad
    ///   users file or token.
    public init(_ options: Options) throws {
        self.options = options
        do {
            auth = try ServeAuth(host: options.host, usersFile: options.usersFile, token: options.token)
        } catch let e as ServeError {
            throw RunnerError(e.message)
        }
        session = try StationSession(options.runner)
    }

    /// The engineer token made at start-up, to print once (nil when configured or not needed).
    public var generatedToken: String? { auth.generatedToken }

    /// Whether signing in is required (any address but loopback, or tokens configured).
    public var signInRequired: Bool { auth.required }

    /// Serves until the calling task is cancelled (after ``stop()``); `started` gets the URL
    /// once the port is open.
    public func run(started: @escaping @Sendable (String) -> Void) async throws {
        let router = Router(context: ServeContext.self)
        router.add(middleware: SecurityMiddleware(auth: auth))
        routes(router)
        let host = options.host
        let app = Application(
            router: router, configuration: .init(address: .hostname(host, port: options.port), serverName: "litmus-serve"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                started("http://\(host.contains(":") ? "[\(host)]" : host):\(port)/")
            },
            logger: {
                var logger = Logger(label: "litmus-serve")
                logger.logLevel = .warning
                return logger
            }())
        defer { session.close() }
        try await app.run()
    }

    /// Ends the open screens' streams (so the server can stop without waiting for the
    /// browsers) and aborts the board being tested (its teardown runs, its run is recorded
    /// aborted). Then cancel the task running ``run(started:)``.
    public func stop() {
        session.close()
    }

    // MARK: Routes

    private func routes(_ router: Router<ServeContext>) {
        let session = self.session
        let auth = self.auth
        let dataDir = options.runner.dataDir

        router.get("/") { _, context in Self.page(Pages.station, context: context) }
        router.get("/history") { _, context in Self.page(Pages.history, context: context) }
        router.get("/runs/:id") { _, context in
            do {
                return try RunView.page(dataDir: dataDir, id: context.parameters.get("id") ?? "")
            } catch let e as ServeError {
                return Self.failure(e)
            }
        }
        router.get("/app.js") { _, _ in Self.text(Pages.script, type: "text/javascript; charset=utf-8") }
        router.get("/app.css") { _, _ in Self.text(Pages.style, type: "text/css; charset=utf-8") }
        router.get("/login") { request, _ in
            Self.text(Pages.login.replacingOccurrences(of: "{{message}}", with: ""), type: "text/html; charset=utf-8")
        }
        router.post("/login") { request, _ in
            var request = request
            let body = String(buffer: try await request.collectBody(upTo: 4096))
            let token = Self.formValue(body, "token") ?? ""
            guard let user = auth.user(token: token) else {
                var response = Self.text(
                    Pages.login.replacingOccurrences(of: "{{message}}", with: "<p class=\"error\">That token is not known here: check it and try again.</p>"),
                    type: "text/html; charset=utf-8")
                response.status = .unauthorized
                return response
            }
            let s = auth.newSession(user: user)
            var response = Response.redirect(to: "/", type: .normal)
            response.headers[.setCookie] = ServeAuth.cookieHeader(s)
            return response
        }
        router.post("/logout") { request, context in
            if let s = context.serveSession { auth.endSession(s.id) }
            return Response.redirect(to: auth.required ? "/login" : "/", type: .normal)
        }

        router.get("/api/state") { _, _ in Self.json(session.snapshot()) }
        router.get("/api/events") { request, context in
            Response(
                status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"],
                body: .init { writer in
                    let (id, subscriber) = session.subscribe()
                    try await request.body.consumeWithInboundCloseHandler { _ in
                        var n: Int64 = 0
                        // Everything queued since the last write goes out in one write.
                        for await _ in subscriber.wakeups {
                            guard let batch = subscriber.take() else { break }
                            if batch.isEmpty { continue }
                            var text = ""
                            for message in batch {
                                n += 1
                                text += "id: \(n)\nevent: \(message.type)\ndata: \(message.data)\n\n"
                            }
                            try await writer.write(ByteBuffer(string: text))
                        }
                    } onInboundClosed: {
                        session.hub.remove(id)
                    }
                    session.hub.remove(id)
                    try await writer.finish(nil)
                })
        }
        router.post("/api/start") { request, context in
            try await Self.action(request, context) { body, user in
                // The operator typed on the screen, else the signed-in user.
                let typed = (body["operator"] as? String)?.trimmingCharacters(in: .whitespaces)
                let op = typed?.isEmpty == false ? typed : (user == "local" ? nil : user)
                try session.start(serial: body["serial"] as? String ?? "", operatorID: op, by: user)
            }
        }
        router.post("/api/abort") { request, context in
            try await Self.action(request, context) { _, user in try session.abort(by: user) }
        }
        router.post("/api/prompts/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await Self.action(request, context) { body, user in
                guard let value = body["value"] as? String else { throw ServeError(.invalid, "give the answer as {\"value\": \"...\"}") }
                try session.answer(id: id, value: value, by: user)
            }
        }
        router.get("/api/history") { request, _ in
            do {
                let query = Dictionary(request.uri.queryParameters.map { (String($0.key), String($0.value)) }) { first, _ in first }
                let filter = try HistoryFilter(query)
                return Self.json(try filter.rows(dataDir: dataDir))
            } catch let e as ServeError {
                return Self.failure(e)
            }
        }
        router.get("/runs/:id/download/:format") { _, context in
            guard context.serveUser?.role == .engineer else {
                return Self.failure(ServeError(.forbidden, "downloads are for engineers: sign in with an engineer's token"))
            }
            do {
                return try RunView.download(dataDir: dataDir, id: context.parameters.get("id") ?? "", format: context.parameters.get("format") ?? "")
            } catch let e as ServeError {
                return Self.failure(e)
            }
        }
        router.get("/station-files/**") { _, context in
            let relative = context.parameters.getCatchAll().joined(separator: "/")
            guard let path = ServeFiles.resolve(relative.removingPercentEncoding ?? "", under: session.stationFolder),
                let data = FileManager.default.contents(atPath: path)
            else {
                return Self.failure(ServeError(.notFound, "no picture \(relative.prefix(80)) in the station folder"))
            }
            let type = ServeFiles.pictures[(path as NSString).pathExtension.lowercased()] ?? "application/octet-stream"
            return Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
    }

    // MARK: Helpers

    /// A POST from a face: JSON body (at most 16 KiB), run as the signed-in user; errors as
    /// `{"error": "..."}` with their status.
    static func action(
        _ request: Request, _ context: ServeContext, _ body: @Sendable ([String: Any], String) throws -> Void
    ) async throws -> Response {
        var request = request
        let buffer: ByteBuffer
        do { buffer = try await request.collectBody(upTo: 16384) } catch {
            return failure(ServeError(.invalid, "the request is larger than 16 KiB"))
        }
        let object: [String: Any]
        if buffer.readableBytes == 0 {
            object = [:]
        } else {
            guard let parsed = try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any] else {
                return failure(ServeError(.invalid, "the request body is not a JSON object"))
            }
            object = parsed
        }
        // Signed in: the user's name. On loopback without sign-in: the operator typed on the
        // screen, else `local`.
        var who = context.serveUser?.name ?? "local"
        if !(context.serveSignedIn), let op = (object["operator"] as? String)?.trimmingCharacters(in: .whitespaces), !op.isEmpty {
            do { try StationRunner.validate(operatorID: op) } catch let e as RunnerError { return failure(ServeError(.invalid, e.message)) }
            who = op
        }
        do {
            try body(object, who)
        } catch let e as ServeError {
            return failure(e)
        }
        return json(#"{"ok":true}"#)
    }

    /// A page with the session's CSRF token (for its script's POSTs) and the user filled in.
    static func page(_ html: String, context: ServeContext) -> Response {
        let user = context.serveUser.map { "\($0.name) (\($0.role.rawValue))" } ?? ""
        let text = html.replacingOccurrences(of: "{{csrf}}", with: context.serveSession?.csrf ?? "")
            .replacingOccurrences(of: "{{user}}", with: MarkupWriter.escaped(user))
            .replacingOccurrences(of: "{{signed_in}}", with: context.serveSignedIn ? "yes" : "no")
        return Self.text(text, type: "text/html; charset=utf-8")
    }

    static func text(_ text: String, type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type, .cacheControl: "no-store"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func json(_ text: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func failure(_ error: ServeError) -> Response {
        var j = JSONBuffer()
        j.beginObject()
        j.field("error", error.message)
        j.endObject()
        var response = json(String(decoding: j.bytes, as: UTF8.self))
        switch error.kind {
        case .invalid: response.status = .badRequest
        case .conflict: response.status = .conflict
        case .notFound: response.status = .notFound
        case .forbidden: response.status = .forbidden
        case .unauthorized: response.status = .unauthorized
        }
        return response
    }

    /// A field of an `application/x-www-form-urlencoded` body.
    static func formValue(_ body: String, _ name: String) -> String? {
        for pair in body.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
            if kv.count == 2, kv[0] == name {
                return kv[1].replacingOccurrences(of: "+", with: " ").removingPercentEncoding
            }
        }
        return nil
    }
}
