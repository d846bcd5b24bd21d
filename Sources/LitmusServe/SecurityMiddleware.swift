import Foundation
import Hummingbird

/// A request's context: who made it (see ``SecurityMiddleware``).
public struct ServeContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    var serveSession: ServeAuth.Session?
    var serveUser: ServeAuth.User?
    /// Whether the user proved who they are (a token), rather than being `local` on loopback.
    var serveSignedIn = false

    public init(source: Source) {
        coreContext = .init(source: source)
    }
}

/// Every request passes here first: the `Host` check on loopback, sign-in, roles, the CSRF
/// token and origin check on POSTs, and the security headers of every response.
struct SecurityMiddleware: RouterMiddleware {
    typealias Context = ServeContext
    let auth: ServeAuth

    static let csrfHeader = HTTPFields.Element.Name("X-CSRF-Token")!
    static let originHeader = HTTPFields.Element.Name("Origin")!
    static let fetchSiteHeader = HTTPFields.Element.Name("Sec-Fetch-Site")!

    func handle(_ request: Request, context: ServeContext, next: (Request, ServeContext) async throws -> Response) async throws -> Response {
        var response = try await check(request, context: context, next: next)
        if response.headers[.contentSecurityPolicy] == nil {
            response.headers[.contentSecurityPolicy] = "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'; form-action 'self'"
        }
        response.headers[HTTPFields.Element.Name("X-Content-Type-Options")!] = "nosniff"
        response.headers[HTTPFields.Element.Name("X-Frame-Options")!] = "DENY"
        response.headers[HTTPFields.Element.Name("Referrer-Policy")!] = "same-origin"
        return response
    }

    private func check(_ request: Request, context: ServeContext, next: (Request, ServeContext) async throws -> Response) async throws -> Response {
        var context = context
        let path = request.uri.path
        let isPost = request.method == .post
        let host = request.head.authority ?? ""
        // On loopback the page is this machine's: a Host naming another (DNS rebinding) is refused.
        if auth.loopback && !ServeAuth.isLoopbackHostHeader(host) {
            return StationServer.failure(ServeError(.forbidden, "this server answers on loopback only (Host \(host.prefix(60)) is not this machine)"))
        }
        // A POST must come from a page of this server.
        if isPost {
            if request.headers[Self.fetchSiteHeader] == "cross-site" {
                return StationServer.failure(ServeError(.forbidden, "cross-site request refused"))
            }
            if let origin = request.headers[Self.originHeader], origin != "http://\(host)" {
                return StationServer.failure(ServeError(.forbidden, "request from another origin (\(origin.prefix(80))) refused"))
            }
        }
        let open = path == "/login" || path == "/app.css" || path == "/app.js"
        // An API client: a bearer token, no cookie and no CSRF token (a browser page of another
        // site cannot send this header without a preflight this server never allows).
        if let authorization = request.headers[.authorization], authorization.hasPrefix("Bearer ") {
            guard let user = auth.user(token: String(authorization.dropFirst(7))) else {
                return StationServer.failure(ServeError(.unauthorized, "that token is not known here"))
            }
            context.serveUser = user
            context.serveSignedIn = true
            return try await next(request, context)
        }
        var newCookie: String?
        var session = auth.session(cookie: request.headers[.cookie])
        if session == nil && !open && !(isPost) {
            // A browser without a session gets one (its CSRF token goes into the page).
            let s = auth.newSession(user: auth.required ? nil : ServeAuth.User(name: "local", role: .engineer))
            session = s
            newCookie = ServeAuth.cookieHeader(s)
        }
        if let s = session, s.user == nil, !auth.required {
            session?.user = ServeAuth.User(name: "local", role: .engineer)
        }
        context.serveSession = session
        context.serveUser = session?.user
        context.serveSignedIn = auth.required && session?.user != nil
        if auth.required && session?.user == nil && !open {
            if !isPost && !path.hasPrefix("/api/") && !path.contains("/download/") {
                var response = Response.redirect(to: "/login", type: .normal)
                if let newCookie { response.headers[.setCookie] = newCookie }
                return response
            }
            return StationServer.failure(ServeError(.unauthorized, "sign in first (GET /login), or send Authorization: Bearer <token>"))
        }
        if isPost && path != "/login" {
            guard let s = session, let sent = request.headers[Self.csrfHeader], ServeAuth.same(sent, s.csrf) else {
                return StationServer.failure(ServeError(.forbidden, "missing or wrong CSRF token: reload the page and try again"))
            }
            guard request.headers[.contentType]?.hasPrefix("application/json") == true || path == "/logout" else {
                return StationServer.failure(ServeError(.invalid, "send the request as application/json"))
            }
        }
        var response = try await next(request, context)
        if let newCookie { response.headers[.setCookie] = newCookie }
        return response
    }
}
