// Scenario test against a running local server (BACKEND_ENDPOINT, BACKEND_ACCESS_KEY,
// BACKEND_SECRET_KEY). NOT run: no Swift toolchain was available where this was written.
import BackendAI
import Foundation
import XCTest

final class BackendAITests: XCTestCase {
    func testScenario() throws {
        let api = try Session()
        XCTAssertTrue(try api.getVersions().contains("\"version\""))
        let cs = try api.getOrCreate(image: "python:3.9-ubuntu20.04", name: "swift-\(UUID().uuidString.prefix(8))")
        defer { try? cs.destroy() }
        var out = ""
        try cs.onConsole { rec in
            if rec.stream == .stdout { out += String(decoding: rec.data, as: UTF8.self) }
            return true
        }
        let r = try cs.run("print('hello from swift')")
        XCTAssertEqual(r.status, "finished")
        XCTAssertEqual(r.exitCode, 0)
        XCTAssertEqual(out, "hello from swift\n")
    }

    func testThrowingCallbackStopsTheRun() throws {
        struct Boom: Error {}
        let api = try Session()
        let cs = try api.getOrCreate(image: "python:3.9-ubuntu20.04", name: "swift-\(UUID().uuidString.prefix(8))")
        defer { try? cs.destroy() }
        try cs.onConsole { _ in throw Boom() }
        XCTAssertThrowsError(try cs.run("import time\nprint('x', flush=True)\ntime.sleep(3)")) { error in
            XCTAssertTrue(error is Boom)
        }
    }

    func testWrongSecretIs401() throws {
        let cfg = try Config()
        try cfg.endpoint(ProcessInfo.processInfo.environment["BACKEND_ENDPOINT"] ?? "")
        try cfg.keypair(accessKey: ProcessInfo.processInfo.environment["BACKEND_ACCESS_KEY"] ?? "",
                        secretKey: "wrong-secret")
        let api = try Session(config: cfg)
        // GET / (the versions) is not signed, so only a signed call meets the wrong secret.
        XCTAssertThrowsError(try api.paginatedList()) { error in
            XCTAssertEqual((error as? BackendAIError)?.httpStatus, 401)
        }
    }

    func testPromptAndPasswordReachTheInputCallback() throws {
        let api = try Session()
        let cs = try api.getOrCreate(image: "python:3.9-ubuntu20.04", name: "swift-\(UUID().uuidString.prefix(8))")
        defer { try? cs.destroy() }
        var seen: [String] = []
        try cs.onInput { req in
            seen.append("\(req.prompt)|\(req.isPassword)")
            return "x"
        }
        let r = try cs.run("import getpass\nprint('before')\na = input('user: ')\nb = getpass.getpass('pass: ')")
        XCTAssertEqual(r.exitCode, 0)
        XCTAssertEqual(seen, ["user: |false", "pass: |true"])
    }

    func testAGoneSessionIsNotFound() throws {
        let api = try Session()
        let cs = try api.getOrCreate(image: "python:3.9-ubuntu20.04", name: "swift-\(UUID().uuidString.prefix(8))")
        try cs.destroy()
        XCTAssertThrowsError(try cs.run("print('never')")) { error in
            XCTAssertEqual((error as? BackendAIError)?.isNotFound, true)
        }
    }

    func testOptionsAreParsedOrNil() throws {
        let api = try Session()
        let cs = try api.getOrCreate(image: "python:3.9-ubuntu20.04", name: "swift-\(UUID().uuidString.prefix(8))")
        defer { try? cs.destroy() }
        let step = try cs.execute(runId: nil, code: "x = input('x? ')")
        XCTAssertEqual(step.status, "waiting-input")
        XCTAssertEqual(step.options?["is_password"] as? Bool, false)
        var done = try cs.execute(runId: step.runId, code: "1", mode: .input)
        while done.status != "finished" { done = try cs.execute(runId: step.runId, code: "", mode: .continue) }
        XCTAssertNil(done.options)
    }
}
