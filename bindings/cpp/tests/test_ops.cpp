// Operations a host can tell apart (issue 15): per-operation callbacks and context
// (OpOptions), run ids, the completion list (Session::next_done), the outcomes of cancelled,
// interrupted, timed-out and stopped runs, the input prompt, ExecResult::raised, session-wide
// cancel and the retry budget. Needs a running server (BACKEND_* variables).
#include <backendai.hpp>

#include "support.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using backendai::Compute;
using backendai::Operation;
using backendai::OpOptions;
using backendai::Session;

using namespace bai_test;

namespace {

constexpr int kSessions = 8, kPerSession = 8;

// What the host knows about one run: its context.
struct Job {
    int session = 0, index = 0;
    Operation *op = nullptr;
    std::string out;
    int completions = 0;
    bool cancelled = false;
    bool started() const { return out.find("started") != std::string::npos; }
};

std::string code_of(int k, int i) {
    if (i == 0) return "import time\nprint('started', flush=True)\ntime.sleep(60)\nprint('woke')";
    if (i == 1) return "flag = True\nprint('queued run ran')";
    std::string line = "print('" + std::to_string(k) + ":" + std::to_string(i) + "')";
    if (i == 7) line += "\nraise ValueError('on purpose')";
    return line;
}

}  // namespace

// 64 runs on 8 compute sessions driven from one thread, each with its own callbacks and
// context; each completion handed out once; queued runs cancelled see CancelledError and
// never execute; running runs cancelled see InterruptedError; the others finish with their
// own output.
TEST(Ops, SixtyFourRunsOnEightComputeSessions) {
    Session api = Session::from_env();
    std::vector<Compute> cs;
    for (int k = 0; k < kSessions; k++) cs.push_back(make(api, "ops" + std::to_string(k)));
    // A warm-up run per session, with no options: its completion is handed out too, once.
    for (auto &c : cs) {
        Operation op = c.run_start("flag = False");
        while (op.poll(1000) == backendai::PollState::Pending) {
        }
        EXPECT_EQ(api.next_done(), &op);
        EXPECT_EQ(api.next_done(), nullptr);
    }
    auto t0 = std::chrono::steady_clock::now();
    std::vector<Job> jobs(kSessions * kPerSession);
    std::vector<Operation> ops;
    ops.reserve(jobs.size());  // no reallocation: jobs point at their operations
    for (int k = 0; k < kSessions; k++) {
        for (int i = 0; i < kPerSession; i++) {
            Job &job = jobs[k * kPerSession + i];
            job.session = k;
            job.index = i;
            ops.push_back(cs[k].run_start(code_of(k, i), OpOptions()
                                                             .on_console([&job](const backendai::ConsoleRecord &r) {
                                                                 if (r.stream == backendai::Stream::Stdout) job.out += r.data;
                                                             })
                                                             .context(&job)));
            job.op = &ops.back();
            EXPECT_EQ(ops.back().context_as<Job *>(), &job);
        }
        jobs[k * kPerSession + 1].op->cancel();  // queued behind run 0: never reaches the server
        jobs[k * kPerSession + 1].cancelled = true;
    }
    int done = 0, cancelled_running = 0;
    auto deadline = std::chrono::steady_clock::now() + 120s;
    while (done < kSessions * kPerSession) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << done << " of 64 finished";
        api.poll(200);
        while (Operation *op = api.next_done()) {
            Job *job = op->context_as<Job *>();
            EXPECT_EQ(job->op, op);
            job->completions++;
            done++;
        }
        for (int k = 0; k < kSessions; k++) {  // cancel each sleeping run once it runs
            Job &job = jobs[k * kPerSession];
            if (job.started() && !job.cancelled) {
                job.op->cancel();
                job.cancelled = true;
                cancelled_running++;
            }
        }
    }
    auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(cancelled_running, kSessions);
    EXPECT_TRUE(api.done().empty());
    int ok = 0, raised = 0;
    for (Job &job : jobs) {
        Operation &op = *job.op;
        EXPECT_EQ(job.completions, 1);
        if (job.index == 0) {
            EXPECT_EQ(op.code(), BAI_E_INTERRUPTED);
            EXPECT_THROW(op.result(), backendai::InterruptedError);
            EXPECT_EQ(job.out.find("woke"), std::string::npos);
        } else if (job.index == 1) {
            EXPECT_EQ(op.code(), BAI_E_CANCELLED);
            try {
                op.result();
                ADD_FAILURE() << "no exception";
            } catch (const backendai::InterruptedError &) {
                ADD_FAILURE() << "interrupted, not cancelled while queued";
            } catch (const backendai::CancelledError &e) {
                EXPECT_EQ(std::string(e.code_name()), "BAI_E_CANCELLED");
            }
            EXPECT_EQ(job.out, "");
        } else {
            EXPECT_EQ(op.error(), nullptr);
            backendai::ExecResult r = op.result();
            EXPECT_EQ(job.out, std::to_string(job.session) + ":" + std::to_string(job.index) + "\n");
            EXPECT_EQ(r.status, "finished");
            EXPECT_EQ(r.raised, job.index == 7);
            EXPECT_FALSE(op.run_id().empty());
            EXPECT_EQ(r.run_id, op.run_id());
            ok++;
            raised += r.raised;
        }
    }
    EXPECT_EQ(ok, kSessions * (kPerSession - 2));
    EXPECT_EQ(raised, kSessions);
    ops.clear();
    // The runs cancelled while queued never executed.
    for (auto &c : cs) {
        std::string out;
        c.run("print(flag)", OpOptions().on_console([&](const backendai::ConsoleRecord &r) { out += r.data; }));
        EXPECT_EQ(out, "False\n");
    }
    std::printf("64 runs on 8 compute sessions: %.1f s\n", elapsed);
    for (auto &c : cs) c.destroy();
}

// Per-operation callbacks of two operations on one handle, driven by Session::poll(), never
// mix, and fall back to the handle's callbacks for what they do not set.
TEST(Ops, CallbacksAndContextBelongToTheirOperation) {
    Session api = Session::from_env();
    Compute c = make(api, "own");
    std::string handle_out, a_out, b_media;
    c.on_console([&](const backendai::ConsoleRecord &r) { handle_out += r.data; });
    Operation a = c.run_start("print('a')", OpOptions().on_console([&](const backendai::ConsoleRecord &r) {
        a_out += r.data;
    }).context(std::string("first")));
    Operation b = c.run_start("from backendai_kernel import emit_media\nprint('b')\nemit_media('image/svg+xml', '<svg/>')",
                              OpOptions().on_media([&](const backendai::MediaRecord &m) { b_media += m.mime; }));
    Operation moved = std::move(a);  // next_done() hands out the object that owns it now
    std::set<Operation *> handed;
    auto until = std::chrono::steady_clock::now() + 30s;
    while (handed.size() < 2 && std::chrono::steady_clock::now() < until) {
        api.poll(100);
        for (Operation *op : api.done()) EXPECT_TRUE(handed.insert(op).second);
    }
    EXPECT_EQ(handed, (std::set<Operation *>{&moved, &b}));
    EXPECT_EQ(moved.context_as<std::string>(), "first");
    EXPECT_FALSE(b.context().has_value());
    EXPECT_EQ(a_out, "a\n");
    EXPECT_EQ(handle_out, "b\n");  // b set no console callback: the handle's
    EXPECT_EQ(b_media, "image/svg+xml");
    c.destroy();
}

TEST(Ops, InputRequestOfAnOperationAndOfTheCallback) {
    Session api = Session::from_env();
    Compute c = make(api, "input");
    Operation op = c.run_start("import getpass\nprint('hello')\nx = input('a? ')\ny = getpass.getpass('pw: ')\nprint(x + y)");
    std::vector<backendai::InputRequest> reqs;
    backendai::ExecResult r = op.wait([&](const backendai::InputRequest &req) {
        reqs.push_back(req);
        return std::to_string(reqs.size());
    });
    ASSERT_EQ(reqs.size(), 2u);
    EXPECT_EQ(reqs[0].prompt, "a? ");
    EXPECT_FALSE(reqs[0].is_password);
    EXPECT_EQ(reqs[1].prompt, "pw: ");
    EXPECT_TRUE(reqs[1].is_password);
    EXPECT_EQ(reqs[0].run_id, r.run_id);
    // The callback form gets the prompt from the library too, with no console callback.
    std::vector<std::string> prompts;
    c.run("import sys\nsys.stdout.write('par'); sys.stdout.flush()\na = input('tial: ')",
          OpOptions().on_input([&](const backendai::InputRequest &req) {
              prompts.push_back(req.prompt);
              return std::string("x");
          }));
    EXPECT_EQ(prompts, std::vector<std::string>{"partial: "});
    c.destroy();
}

TEST(Ops, RaisedTimeoutAndStopAtTheLastStep) {
    Session api = Session::from_env();
    Compute c = make(api, "outcomes");
    EXPECT_FALSE(c.run("print('fine')").raised);
    backendai::ExecResult bad = c.run("raise KeyError('k')");
    EXPECT_TRUE(bad.raised);
    EXPECT_EQ(bad.exit_code.value_or(-1), 0);  // query mode: exit code 0 even so
    c.set_timeout(500ms);
    EXPECT_THROW(c.run("import time\ntime.sleep(3)"), backendai::TimeoutError);
    {
        Operation op = c.run_start("import time\ntime.sleep(3)");
        EXPECT_THROW(
            {
                while (op.poll(100) == backendai::PollState::Pending) {
                }
            },
            backendai::TimeoutError);
        EXPECT_EQ(op.code(), BAI_E_TIMEOUT);
        EXPECT_THROW(op.result(), backendai::TimeoutError);
    }
    c.set_timeout(0ms);
    // A stop at the very last progress report is honoured.
    fs::path dir = fs::temp_directory_path() / unique("last");
    fs::create_directories(dir);
    std::ofstream(dir / "data.bin") << std::string(50000, 'x');
    uint64_t last = 0;
    EXPECT_THROW(c.upload({(dir / "data.bin").string()}, dir.string(), OpOptions().on_progress([&](uint64_t d, uint64_t t) {
        last = d;
        return d < t;
    })),
                 backendai::CallbackAborted);
    EXPECT_EQ(last, 50000u);
    fs::remove_all(dir);
    c.destroy();
}

TEST(Ops, OperationCallbackExceptionStaysWithItsOperation) {
    struct Boom : std::runtime_error {
        using std::runtime_error::runtime_error;
    };
    Session api = Session::from_env();
    Compute c = make(api, "boom");
    Operation op = c.run_start("import time\nprint('x', flush=True)\ntime.sleep(5)",
                               OpOptions().on_console([](const backendai::ConsoleRecord &) { throw Boom("mine"); }));
    auto until = std::chrono::steady_clock::now() + 15s;
    while (!op.error() && std::chrono::steady_clock::now() < until) EXPECT_NO_THROW(api.poll(100));
    ASSERT_TRUE(op.error());
    EXPECT_THROW(op.poll(0), Boom);
    EXPECT_THROW(op.result(), Boom);
    c.destroy();
}

TEST(Ops, SessionCancelEndsBlockingCallsOfEveryThread) {
    Session api = Session::from_env();
    Compute a = make(api, "sca"), b = make(api, "scb");
    std::atomic<int> cancelled{0};
    std::promise<void> a_runs, b_runs;  // set once each run printed: it executes on the server
    auto worker = [&](Compute &c, std::promise<void> &executing) {
        bool told = false;
        try {
            c.run("import time\nprint('x', flush=True)\ntime.sleep(30)",
                  OpOptions().on_console([&](const backendai::ConsoleRecord &) {
                      if (!told) executing.set_value();
                      told = true;
                  }));
        } catch (const backendai::CancelledError &) {
            cancelled++;
        }
        if (!told) executing.set_value();
    };
    std::thread ta(worker, std::ref(a), std::ref(a_runs)), tb(worker, std::ref(b), std::ref(b_runs));
    bool executing = a_runs.get_future().wait_for(20s) == std::future_status::ready &&
                     b_runs.get_future().wait_for(20s) == std::future_status::ready;
    EXPECT_TRUE(executing);  // (cancel and join anyway: no thread is left behind)
    auto t0 = std::chrono::steady_clock::now();
    api.cancel();
    ta.join();
    tb.join();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 16s);
    EXPECT_EQ(cancelled.load(), 2);
    std::string out;
    a.run("print('after')", OpOptions().on_console([&](const backendai::ConsoleRecord &r) { out += r.data; }));
    EXPECT_EQ(out, "after\n");
    a.destroy();
    b.destroy();
}

TEST(Ops, RetryBudgetIsConfigured) {
    backendai::Config cfg;
    cfg.retry_budget(2500ms);
    EXPECT_NE(cfg.describe().find("\"retry_budget_ms\":2500"), std::string::npos) << cfg.describe();
    EXPECT_THROW(cfg.retry_budget(-1ms), backendai::ClientError);
}
