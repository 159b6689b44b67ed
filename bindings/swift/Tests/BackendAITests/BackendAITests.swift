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
        XCTAssertTrue(try cs.run("raise KeyError('k')").raised)
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

    /// Issue 15's scenario: 64 runs on 8 compute sessions driven from one thread, each with
    /// its own callbacks and context; each completion handed out once; queued runs cancelled
    /// never execute, running ones cancelled are interrupted, the others finish with their
    /// own output.
    func testSixtyFourRunsOnEightComputeSessions() throws {
        final class Job {
            let session: Int, index: Int
            var out = ""
            var completions = 0
            var cancelled = false
            var op: RunOperation?
            init(_ session: Int, _ index: Int) { self.session = session; self.index = index }
        }
        let api = try Session()
        var computes: [ComputeSession] = []
        for k in 0..<8 {
            computes.append(try api.getOrCreate(image: "python:3.9-ubuntu20.04", name: "swift-ops\(k)-\(UUID().uuidString.prefix(8))"))
        }
        defer { for c in computes { try? c.destroy() } }
        for c in computes { try c.run("flag = False") }
        var jobs: [Job] = []
        for (k, c) in computes.enumerated() {
            for i in 0..<8 {
                let job = Job(k, i)
                let code: String
                switch i {
                case 0: code = "import time\nprint('started', flush=True)\ntime.sleep(60)\nprint('woke')"
                case 1: code = "flag = True\nprint('queued run ran')"
                case 7: code = "print('\(k):\(i)')\nraise ValueError('on purpose')"
                default: code = "print('\(k):\(i)')"
                }
                let options = OpOptions(onConsole: { rec in
                    if rec.stream == .stdout { job.out += String(decoding: rec.data, as: UTF8.self) }
                    return true
                }, context: job)
                job.op = try c.startRun(code, options: options)
                jobs.append(job)
            }
            try jobs[k * 8 + 1].op?.cancel()
            jobs[k * 8 + 1].cancelled = true
        }
        var done = 0
        let deadline = Date().addingTimeInterval(120)
        while done < jobs.count {
            XCTAssertLessThan(Date(), deadline)
            if Date() >= deadline { break }
            try api.poll(timeoutMs: 200)
            for op in api.done() {
                let job = op.context as! Job
                XCTAssertTrue(job.op === op)
                job.completions += 1
                done += 1
            }
            for k in 0..<8 where jobs[k * 8].out.contains("started") && !jobs[k * 8].cancelled {
                try jobs[k * 8].op?.cancel()
                jobs[k * 8].cancelled = true
            }
        }
        XCTAssertNil(api.nextDone())
        for job in jobs {
            guard let op = job.op else { continue }
            XCTAssertEqual(job.completions, 1)
            let error = op.error as? BackendAIError
            switch job.index {
            case 0:
                XCTAssertEqual(error?.isInterrupted, true)
                XCTAssertFalse(job.out.contains("woke"))
            case 1:
                XCTAssertEqual(error?.code, Code.cancelled.rawValue)
                XCTAssertEqual(job.out, "")
            default:
                XCTAssertNil(op.error)
                let r = try op.result()
                XCTAssertEqual(job.out, "\(job.session):\(job.index)\n")
                XCTAssertEqual(r.raised, job.index == 7)
                XCTAssertEqual(r.runId, op.runId)
            }
            job.op = nil  // job -> op -> its callbacks -> job: break the cycle, free the op
        }
        for c in computes {
            var out = ""
            try c.run("print(flag)", options: OpOptions(onConsole: { rec in
                out += String(decoding: rec.data, as: UTF8.self)
                return true
            }))
            XCTAssertEqual(out, "False\n")
        }
    }

    func testInputRequestOfAnOperation() throws {
        let api = try Session()
        let cs = try api.getOrCreate(image: "python:3.9-ubuntu20.04", name: "swift-\(UUID().uuidString.prefix(8))")
        defer { try? cs.destroy() }
        let op = try cs.startRun("import getpass\nx = input('a? ')\ny = getpass.getpass('pw: ')\nprint(x + y)")
        var requests: [InputRequest] = []
        while !op.isDone {
            if try op.poll(timeoutMs: 200) == .waitingInput {
                requests.append(try op.inputRequest())
                try op.sendInput("\(requests.count)")
            }
        }
        XCTAssertEqual(requests.map { $0.prompt }, ["a? ", "pw: "])
        XCTAssertEqual(requests.map { $0.isPassword }, [false, true])
        XCTAssertEqual(try op.result().exitCode, 0)
    }
}

