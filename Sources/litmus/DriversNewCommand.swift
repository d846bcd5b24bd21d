import ArgumentParser
import Foundation

/// `litmus drivers new <id> [--lang c|swift] [--dir <d>]`: writes a driver plugin project that
/// builds out of tree, talks to its instrument through the host I/O services (ABI 1.2) and
/// passes `litmus drivers check` as generated.
struct DriversNewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "new",
        abstract: "Write a driver plugin project (C or Swift) that builds out of tree and passes `drivers check`.",
        discussion: """
            The driver talks to its instrument through the host's transports (ABI 1.2 host I/O): \
            it owns no socket, serial or USB code. C: a Makefile that compiles against the installed \
            SDK found with pkg-config (`make install-sdk PREFIX=...` in a Litmus checkout). Swift: a \
            Package.swift that depends on LitmusDriverKit by path (--litmus-path). See \
            docs/writing-a-driver.md, "Start from the scaffold".
            """)

    enum Language: String, ExpressibleByArgument, CaseIterable {
        case c, swift
    }

    @Argument(help: "The driver id: lower-case letters, digits and '-', e.g. acme-psu.") var id: String
    @Option(help: "The language of the project.") var lang: Language = .c
    @Option(help: "Where to write the project (default: ./<id>). Must not exist or be empty.") var dir: String?
    @Option(
        help: "The transport resource `drivers check` opens (the self-test resource): your unit or a simulator.")
    var resource = "TCPIP0::127.0.0.1::5025::SOCKET"
    @Option(
        name: .customLong("litmus-path"),
        help: "Swift only: the Litmus checkout the package depends on (default: the one this litmus binary was built in).")
    var litmusPath: String?

    func validate() throws {
        guard let first = id.utf8.first, id.utf8.count <= 48,
            (first >= 0x61 && first <= 0x7A),
            id.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D })
        else {
            throw ValidationError(
                "'\(id)' is not a driver id. Fix: use lower-case letters, digits and '-', starting with a letter, e.g. acme-psu")
        }
        guard !resource.contains("\""), !resource.contains("\\"), !resource.contains("\n") else {
            throw ValidationError("--resource must not contain quotes, backslashes or newlines")
        }
    }

    func run() throws {
        let target = dir ?? id
        let root = target.hasPrefix("/") ? target : FileManager.default.currentDirectoryPath + "/" + target
        let scaffold = DriverScaffold(id: id, resource: resource)
        let files: [(String, String)]
        switch lang {
        case .c:
            files = scaffold.cFiles()
        case .swift:
            let litmus = try litmusPath.map { ($0 as NSString).standardizingPath } ?? Self.checkoutOfThisBinary()
            files = scaffold.swiftFiles(litmusPath: litmus.hasPrefix("/") ? litmus : FileManager.default.currentDirectoryPath + "/" + litmus)
        }
        let fm = FileManager.default
        if let existing = try? fm.contentsOfDirectory(atPath: root), !existing.isEmpty {
            printError("error: \(root) exists and is not empty. Fix: choose another --dir, or remove it")
            throw ExitCode.failure
        }
        for (path, text) in files {
            let full = root + "/" + path
            try fm.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: full))
        }
        print("Wrote \(lang == .c ? "C" : "Swift") driver '\(id)' to \(root):")
        for (path, _) in files { print("  \(path)") }
        print("Next: see \(root)/README.md (build, then `litmus drivers check` the plugin).")
    }

    /// The package root of the Litmus checkout this binary was built in (`<root>/.build/<config>/litmus`).
    static func checkoutOfThisBinary() throws -> String {
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var url = exe.deletingLastPathComponent()
        for _ in 0..<4 {
            url.deleteLastPathComponent()
            let manifest = url.appendingPathComponent("Package.swift").path
            if let text = try? String(contentsOfFile: manifest, encoding: .utf8), text.contains("LitmusDriverKit") {
                return url.path
            }
        }
        throw ValidationError(
            "cannot find the Litmus checkout this binary was built in. Fix: pass --litmus-path <checkout of litmus>")
    }
}

/// The files of a generated driver project. Placeholders: @ID@ (driver id), @CID@ (C
/// identifier), @SCHEME@ (the driver's own resource scheme), @RESOURCE@ (self-test transport
/// resource), @TARGET@ (Swift target), @LITMUS_PATH@, @LITMUS_PACKAGE@.
struct DriverScaffold {
    let id: String
    let resource: String

    var cIdentifier: String { id.replacingOccurrences(of: "-", with: "_") }
    var scheme: String { id.uppercased() }
    var swiftTarget: String {
        id.split(separator: "-").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined() + "Driver"
    }

    func fill(_ template: String, litmusPath: String = "") -> String {
        template.replacingOccurrences(of: "@ID@", with: id)
            .replacingOccurrences(of: "@CID@", with: cIdentifier)
            .replacingOccurrences(of: "@SCHEME@", with: scheme)
            .replacingOccurrences(of: "@RESOURCE@", with: resource)
            .replacingOccurrences(of: "@TARGET@", with: swiftTarget)
            .replacingOccurrences(of: "@LITMUS_PATH@", with: litmusPath)
            .replacingOccurrences(of: "@LITMUS_PACKAGE@", with: (litmusPath as NSString).lastPathComponent.lowercased())
    }

    func cFiles() -> [(String, String)] {
        [("Makefile", fill(Self.cMakefile)), ("driver.c", fill(Self.cDriver)), ("README.md", fill(Self.cReadme))]
    }

    func swiftFiles(litmusPath: String) -> [(String, String)] {
        [
            ("Package.swift", fill(Self.swiftPackage, litmusPath: litmusPath)),
            ("Sources/\(swiftTarget)/\(swiftTarget).swift", fill(Self.swiftDriver, litmusPath: litmusPath)),
            ("README.md", fill(Self.swiftReadme, litmusPath: litmusPath)),
        ]
    }

    // MARK: - C

    static let cMakefile = #"""
        # Builds liblitmus-@ID@.so, a Litmus driver plugin, against the installed driver SDK:
        # litmus_driver.h and litmus-driver.pc. In a Litmus checkout,
        #     make install-sdk PREFIX=$HOME/.local
        # installs them; then export PKG_CONFIG_PATH=$HOME/.local/lib/pkgconfig.
        CC ?= cc
        PKG_CONFIG ?= pkg-config
        CFLAGS ?= -O2 -g
        LITMUS ?= litmus

        ifneq ($(shell $(PKG_CONFIG) --exists litmus-driver && echo yes),yes)
        $(error litmus-driver.pc not found by $(PKG_CONFIG). Fix: run `make install-sdk PREFIX=$$HOME/.local` in a Litmus checkout and export PKG_CONFIG_PATH=$$HOME/.local/lib/pkgconfig)
        endif

        SDK_CFLAGS := $(shell $(PKG_CONFIG) --cflags litmus-driver)
        LIB := liblitmus-@ID@.so

        all: $(LIB)

        $(LIB): driver.c
        	$(CC) -std=c11 -Wall -Wextra -pedantic -fPIC -fvisibility=hidden $(CFLAGS) $(SDK_CFLAGS) -shared -o $@ driver.c $(LDFLAGS)

        # Loads the plugin with the real loader and exercises it against its self-test resource.
        check: $(LIB)
        	$(LITMUS) drivers check ./$(LIB)

        clean:
        	rm -f $(LIB)

        .PHONY: all check clean
        """#

    static let cDriver = #"""
        /*
         * driver.c - the @ID@ instrument driver (generated by `litmus drivers new @ID@`).
         *
         * It owns no socket, serial or USB code: the host opens the transport resource for it
         * (ABI 1.2 host I/O, services->io_*), with the host's resolution, terminations, deadline
         * of each read, device clear and resource lock. What is left here is the driver's job:
         * the instrument's commands and the parsing of its replies.
         *
         * Resources: "@SCHEME@::<transport resource>", e.g.
         * @SCHEME@::TCPIP0::10.0.0.5::5025::SOCKET, or the transport resource itself with the
         * driver named (`driver: @ID@` in a station file).
         *
         * Replace the commands in the operation functions with your instrument's (a line protocol
         * needs no '?'); add operations to the table and the switch in invoke.
         */
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>

        #include "litmus_driver.h"

        #define COUNTOF(a) (sizeof(a) / sizeof((a)[0]))
        #define REPLY_MAX 256

        /** The host's services: written once by the entry point, then only read. */
        static const litmus_host_services *services;

        /** Sets the error of the failing call and returns `status`. */
        static litmus_status fail(litmus_error *err, litmus_status status, const char *fmt, const char *arg)
        {
            char text[512];
            int n = snprintf(text, sizeof text, fmt, arg);
            services->error_set(err, status, 0, text, n < 0 ? 0 : ((size_t)n < sizeof text ? (size_t)n : sizeof text - 1));
            return status;
        }

        struct litmus_session {
            litmus_io *io; /* the host's session on the transport */
        };

        /* ---- open and close ---------------------------------------------------------------- */

        static litmus_status drv_open(const litmus_driver_desc *driver, const char *resource,
                                      const litmus_kv *options, size_t option_count,
                                      litmus_session **out_session, litmus_error *err)
        {
            static const char prefix[] = "@SCHEME@::";
            litmus_kv host_options[3];
            litmus_session *s;
            litmus_status st;
            (void)driver;
            (void)options;
            (void)option_count;
            if (!LITMUS_HAS_FIELD(services, litmus_host_services, io_open) || services->io_open == NULL)
                return fail(err, LITMUS_E_UNSUPPORTED, "%s: this host has no I/O services (ABI 1.2). Fix: upgrade litmus", resource);
            if (strncmp(resource, prefix, sizeof prefix - 1) == 0)
                resource += sizeof prefix - 1;
            /* The instrument's line protocol: "\n" ends commands and replies; 2 s per read. */
            memset(host_options, 0, sizeof host_options);
            host_options[0].key = "read_termination";
            host_options[0].value.type = LITMUS_T_STR;
            host_options[0].value.u.str.ptr = "\n";
            host_options[0].value.u.str.len = 1;
            host_options[1].key = "write_termination";
            host_options[1].value = host_options[0].value;
            host_options[2].key = "timeout_ms";
            host_options[2].value.type = LITMUS_T_I64;
            host_options[2].value.u.i64 = 2000;
            s = (litmus_session *)calloc(1, sizeof *s);
            if (s == NULL)
                return fail(err, LITMUS_E_NO_MEMORY, "%s: out of memory", resource);
            st = services->io_open(services->host_ctx, resource, NULL, host_options, COUNTOF(host_options), &s->io, err);
            if (st != LITMUS_OK) {
                free(s);
                return st; /* the host said why in err */
            }
            *out_session = s;
            return LITMUS_OK;
        }

        static void drv_close(litmus_session *s)
        {
            services->io_close(s->io);
            free(s);
        }

        /* ---- operations -------------------------------------------------------------------- */

        /** One command and its reply (without the termination), NUL-terminated. */
        static litmus_status query(litmus_session *s, const char *cmd, char *reply, litmus_error *err)
        {
            size_t got = 0;
            litmus_status st = services->io_query(s->io, (const uint8_t *)cmd, strlen(cmd), (uint8_t *)reply,
                                                  REPLY_MAX - 1, &got, err);
            if (st < 0)
                return st; /* timeout, peer closed...: the host's message is in err */
            reply[got] = '\0';
            if (st == LITMUS_OK_MAX_COUNT)
                return fail(err, LITMUS_E_PROTOCOL, "the reply to %s is too long", cmd);
            return LITMUS_OK;
        }

        #define OP(name, result_type, unit, help)                                                 \
            {                                                                                     \
                (uint32_t)sizeof(litmus_operation_desc), (uint32_t)(result_type), (name), (unit), \
                    (help), (uint32_t)LITMUS_OP_READS, 0u, NULL                                   \
            }

        enum { OP_IDENTIFY, OP_MEASURE_VOLTAGE, OP_COUNT };

        static const litmus_operation_desc operations[] = {
            OP("identify", LITMUS_T_STR, NULL, "the instrument's identity"),
            OP("measure_voltage", LITMUS_T_F64, "V", "one voltage reading"),
        };

        static litmus_status drv_invoke(litmus_session *s, uint32_t op_index, const litmus_value *args,
                                        size_t arg_count, litmus_result *result, litmus_error *err)
        {
            char reply[REPLY_MAX];
            char *end;
            double value;
            litmus_status st;
            (void)args;
            (void)arg_count;
            switch (op_index) {
            case OP_IDENTIFY:
                st = query(s, "*IDN?", reply, err);
                if (st == LITMUS_OK)
                    services->result_str(result, reply, strlen(reply));
                return st;
            case OP_MEASURE_VOLTAGE:
                st = query(s, "MEAS:VOLT?", reply, err);
                if (st != LITMUS_OK)
                    return st;
                value = strtod(reply, &end);
                if (end == reply)
                    return fail(err, LITMUS_E_PROTOCOL, "MEAS:VOLT? answered '%s', not a number", reply);
                services->result_f64(result, value);
                return LITMUS_OK;
            default:
                return fail(err, LITMUS_E_NOT_FOUND, "no operation %s", "with this index");
            }
        }

        /* ---- descriptor and entry point ---------------------------------------------------- */

        static const litmus_driver_vtable vtable = {
            (uint32_t)sizeof(litmus_driver_vtable),
            drv_open, drv_close,
            NULL, NULL, NULL, NULL, NULL, NULL, /* write, read, query, clear, read_stb, set_timeout */
            drv_invoke,
            NULL, /* get_extension */
            NULL, /* trigger */
            NULL, /* discover */
        };

        static const char *const schemes[] = {"@SCHEME@", NULL};

        static const litmus_driver_desc driver = {
            (uint32_t)sizeof(litmus_driver_desc),
            0u, /* typed operations only: the host's transport carries the messages */
            "@ID@",
            "@ID@ instrument",
            "0.1.0",
            "Your company",
            schemes,
            0u, (uint32_t)OP_COUNT, NULL, operations,
            &vtable,
            NULL,                       /* driver_ctx */
            "@SCHEME@::@RESOURCE@",     /* self_test_resource: what `litmus drivers check` opens */
            NULL, NULL,                 /* read/write termination: only for message-based drivers */
            NULL,                       /* instrument_types */
        };

        static const litmus_driver_desc *const drivers[] = {&driver};

        LITMUS_PLUGIN_ENTRY(host, out, err)
        {
            if (!LITMUS_HAS_FIELD(host, litmus_host_info, services) || host->services == NULL)
                return LITMUS_E_ABI;
            services = host->services;
            if (host->abi_major != LITMUS_ABI_MAJOR || out->struct_size < sizeof(litmus_plugin_info))
                return fail(err, LITMUS_E_ABI, "%s needs Litmus driver ABI 1.x", "@ID@");
            if (host->abi_minor < 2)
                return fail(err, LITMUS_E_ABI, "%s needs a host with ABI 1.2 (host I/O services). Fix: upgrade litmus", "@ID@");
            out->abi_major = LITMUS_ABI_MAJOR;
            out->abi_minor = 2;
            out->plugin_name = "litmus-@ID@";
            out->plugin_version = "0.1.0";
            out->driver_count = 1;
            out->drivers = drivers;
            return LITMUS_OK;
        }
        """#

    static let cReadme = #"""
        # @ID@: a Litmus instrument driver (C)

        Generated by `litmus drivers new @ID@`. The driver talks to its instrument through the
        host's transports (ABI 1.2 host I/O): no socket code of its own.

        Build (needs the SDK: `make install-sdk PREFIX=$HOME/.local` in a Litmus checkout):

            export PKG_CONFIG_PATH=$HOME/.local/lib/pkgconfig
            make

        Check it with the real loader against its self-test resource (`@RESOURCE@`, set with
        `litmus drivers new --resource`; edit `self_test_resource` in driver.c to change it):

            make check        # = litmus drivers check ./liblitmus-@ID@.so

        Use it: put `liblitmus-@ID@.so` on `LITMUS_PLUGIN_PATH` (a directory only you can write),
        and name the resource `@SCHEME@::TCPIP0::10.0.0.5::5025::SOCKET` in a station file, or the
        transport resource with `driver: @ID@`.
        """#

    // MARK: - Swift

    static let swiftPackage = #"""
        // swift-tools-version: 6.1
        // The @ID@ instrument driver, a Litmus driver plugin (generated by `litmus drivers new`).
        import PackageDescription

        let package = Package(
            name: "litmus-@ID@",
            products: [
                // liblitmus-@ID@.so: put it on LITMUS_PLUGIN_PATH.
                .library(name: "litmus-@ID@", type: .dynamic, targets: ["@TARGET@"])
            ],
            dependencies: [
                // A checkout of Litmus, by path. Once Litmus publishes tagged releases, use its URL
                // instead: .package(url: "<the Litmus repository URL>", from: "<its tag>"), and
                // .product(name: "LitmusDriverKit", package: "<that repository's name>") below.
                .package(path: "@LITMUS_PATH@")
            ],
            targets: [
                .target(
                    name: "@TARGET@",
                    dependencies: [.product(name: "LitmusDriverKit", package: "@LITMUS_PACKAGE@")],
                    // Plugins are never unloaded: unloading Swift code is unsupported.
                    linkerSettings: [.unsafeFlags(["-Xlinker", "-z", "-Xlinker", "nodelete"])])
            ]
        )
        """#

    static let swiftDriver = #"""
        import LitmusDriverKit

        // The @ID@ instrument driver (generated by `litmus drivers new @ID@ --lang swift`).
        //
        // It owns no socket, serial or USB code: the host opens the transport resource for it
        // (ABI 1.2 host I/O, `services.openIO`), with its resolution, terminations, deadline of
        // each read, device clear and resource lock. Replace the commands below with your
        // instrument's and add operations to the table and to `invoke`.

        let plugin = DriverPlugin(name: "litmus-@ID@", version: "0.1.0", drivers: [@TARGET@.description])

        @c @implementation
        public func litmus_plugin_entry_v1(
            _ host: UnsafePointer<litmus_host_info>?, _ out: UnsafeMutablePointer<litmus_plugin_info>?,
            _ err: OpaquePointer?
        ) -> litmus_status {
            plugin.enter(host, out, err)
        }

        enum @TARGET@ {
            /// Resources: "@SCHEME@::<transport resource>", or the transport resource with the driver named.
            static let scheme = "@SCHEME@"

            static let description = DriverDescription(
                id: "@ID@", displayName: "@ID@ instrument", version: "0.1.0", vendor: "Your company",
                schemes: [scheme],
                operations: [
                    OperationDescription("identify", result: .string, flags: [.reads], help: "the instrument's identity"),
                    OperationDescription(
                        "measure_voltage", result: .f64, resultUnit: "V", flags: [.reads], help: "one voltage reading"),
                ],
                // What `litmus drivers check` opens.
                selfTestResource: "@SCHEME@::@RESOURCE@",
                open: { request in try Session(request) })

            final class Session: DriverSession {
                let io: HostIOSession

                init(_ request: DriverDescription.OpenRequest) throws {
                    var resource = request.resource
                    if resource.hasPrefix(@TARGET@.scheme + "::") { resource.removeFirst(@TARGET@.scheme.count + 2) }
                    // The instrument's line protocol: "\n" ends commands and replies; 2 s per read.
                    io = try request.services.openIO(
                        resource,
                        options: [
                            "read_termination": .string("\n"), "write_termination": .string("\n"),
                            "timeout_ms": .i64(2000),
                        ])
                }

                func invoke(operation index: Int, arguments: Arguments) throws -> DriverValue {
                    switch index {
                    case 0:
                        return .string(try io.query("*IDN?"))
                    case 1:
                        let reply = try io.query("MEAS:VOLT?")
                        guard let volts = Double(reply) else {
                            throw DriverFailure.protocolViolation("MEAS:VOLT? answered '\(reply)', not a number")
                        }
                        return .f64(volts)
                    default:
                        throw DriverFailure.notFound("no operation \(index)")
                    }
                }

                func close() { io.close() }
            }
        }
        """#

    static let swiftReadme = #"""
        # @ID@: a Litmus instrument driver (Swift)

        Generated by `litmus drivers new @ID@ --lang swift`. It depends on LitmusDriverKit from
        the Litmus checkout at `@LITMUS_PATH@` (by path: Litmus has no tagged release yet).

            swift build                 # .build/debug/liblitmus-@ID@.so
            litmus drivers check .build/debug/liblitmus-@ID@.so

        The check opens the self-test resource `@SCHEME@::@RESOURCE@` (the instrument or a
        simulator must answer there). The driver reaches it through the host's transports (ABI
        1.2 host I/O), so the transport plugins (liblitmus-lan.so...) must sit next to the litmus
        binary or on `LITMUS_PLUGIN_PATH`.
        """#
}
