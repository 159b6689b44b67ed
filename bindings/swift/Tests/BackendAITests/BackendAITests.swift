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
        XCTAssertThrowsError(try api.getVersions()) { error in
            XCTAssertEqual((error as? BackendAIError)?.httpStatus, 401)
        }
    }
}
