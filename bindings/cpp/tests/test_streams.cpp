// Streaming execute, terminals, session events and session-wide polling through
// backendai.hpp, against the local server.
#include <backendai.hpp>

#include "support.hpp"

#include <gtest/gtest.h>

#include <poll.h>

#include <chrono>
#include <random>
#include <sstream>
#include <thread>

using namespace std::chrono_literals;
using backendai::Compute;
using backendai::PollState;
using backendai::Session;

using namespace bai_test;

namespace {

template <typename Pred>
PollState poll_until(backendai::Operation &op, Pred pred, std::chrono::seconds limit = 30s) {
    auto until = std::chrono::steady_clock::now() + limit;
    PollState st = PollState::Pending;
    while (std::chrono::steady_clock::now() < until) {
        st = op.poll(50);
        if (pred(st)) return st;
    }
    ADD_FAILURE() << "timed out";
    return st;
}

struct Boom : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class StreamTest : public ::testing::Test {
protected:
    void SetUp() override {
        api = std::make_unique<Session>(Session::from_env());
        cs = std::make_unique<Compute>(make(*api, "s"));
    }
    void TearDown() override {
        try {
            cs->destroy();
        } catch (const backendai::Error &) {
        }
        cs.reset();
        api.reset();
    }
    std::unique_ptr<Session> api;
    std::unique_ptr<Compute> cs;
};

}  // namespace

TEST_F(StreamTest, BlockingStreamWithInput) {
    std::string out;
    cs->on_console([&](const backendai::ConsoleRecord &r) { out += r.data; });
    cs->on_input([](const backendai::InputRequest &) { return std::optional<std::string>("yes"); });
    auto r = cs->stream("for i in range(2):\n    print('s', i)\nprint('in', input('q? '))");
    EXPECT_EQ(r.status, "finished");
    EXPECT_EQ(r.exit_code.value_or(-1), 0);
    EXPECT_EQ(out, "s 0\ns 1\nq? in yes\n");
}

TEST_F(StreamTest, StreamCallbackExceptionIsRethrown) {
    cs->on_console([](const backendai::ConsoleRecord &) { throw Boom("stop"); });
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_THROW(cs->stream("import time\nprint('x', flush=True)\ntime.sleep(5)"), Boom);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 4500ms);
}

TEST_F(StreamTest, TerminalRunsACommand) {
    std::string seen;
    cs->on_console([&](const backendai::ConsoleRecord &r) {
        EXPECT_EQ(r.kind, "pty");
        seen += r.data;
    });
    backendai::Terminal term = cs->terminal_open();
    term.resize(24, 80);
    term.ping();
    term.write("echo pty-$((6*7))-ok\n");
    poll_until(term, [&](PollState) { return seen.find("pty-42-ok") != std::string::npos; });
    term.close();
    EXPECT_EQ(poll_until(term, [](PollState s) { return s == PollState::Done; }), PollState::Done);
    EXPECT_THROW(term.write("late\n"), backendai::ClientError);
}

TEST_F(StreamTest, EventsOfTheSession) {
    std::vector<std::string> names;
    std::string last_data;
    cs->on_event([&](std::string_view name, std::string_view data) {
        names.emplace_back(name);
        last_data = std::string(data);
    });
    backendai::Operation ev = cs->events_start("session");
    std::this_thread::sleep_for(500ms);
    ev.poll(0);
    cs->destroy();
    poll_until(ev, [&](PollState s) {
        return s != PollState::Pending ||
               std::find(names.begin(), names.end(), "session_terminated") != names.end();
    });
    EXPECT_NE(std::find(names.begin(), names.end(), "session_terminated"), names.end());
    EXPECT_NE(last_data.find(std::string(cs->name())), std::string::npos) << last_data;
}

TEST(SessionPoll, DrivesOpsOfTwoHandlesWithEventFd) {
    Session api = Session::from_env();
    Compute a = make(api, "pa"), b = make(api, "pb");
    std::string out_a, out_b;
    a.on_console([&](const backendai::ConsoleRecord &r) { out_a += r.data; });
    b.on_console([&](const backendai::ConsoleRecord &r) { out_b += r.data; });
    backendai::Operation op_a = a.run_start("import time\ntime.sleep(0.3)\nprint('from a')");
    backendai::Operation op_b = b.stream_start("print('from b')");
    int fd = api.event_fd();
    ASSERT_GE(fd, 0);
    size_t done = 0;
    auto until = std::chrono::steady_clock::now() + 30s;
    while (done < 2 && std::chrono::steady_clock::now() < until) {
        pollfd p{fd, POLLIN, 0};
        ::poll(&p, 1, 500);
        done += api.poll(0);
    }
    EXPECT_EQ(done, 2u);
    EXPECT_EQ(op_a.code(), BAI_OK);
    EXPECT_EQ(op_b.code(), BAI_OK);
    EXPECT_EQ(op_a.result().exit_code.value_or(-1), 0);
    EXPECT_EQ(out_a, "from a\n");
    EXPECT_EQ(out_b, "from b\n");
    a.destroy();
    b.destroy();
}

TEST(SessionPoll, CallbackExceptionSurfacesFromSessionPoll) {
    Session api = Session::from_env();
    Compute a = make(api, "pe");
    a.on_console([](const backendai::ConsoleRecord &) { throw Boom("in session poll"); });
    backendai::Operation op = a.run_start("import time\nprint('x', flush=True)\ntime.sleep(3)");
    bool thrown = false;
    auto until = std::chrono::steady_clock::now() + 20s;
    while (!thrown && std::chrono::steady_clock::now() < until) {
        try {
            api.poll(100);
        } catch (const Boom &) {
            thrown = true;
        }
    }
    EXPECT_TRUE(thrown);
    // The op was stopped by the callback.
    EXPECT_THROW(
        {
            for (;;) op.poll(100);
        },
        backendai::CallbackAborted);
    a.destroy();
}

TEST(Operations, FailureKeepsHttpDetailOnEveryPoll) {
    Session api = Session::from_env();
    Compute cs = make(api, "gone");
    cs.destroy();
    backendai::Operation op = cs.run_start("print('never')");
    for (int i = 0; i < 2; i++) {
        try {
            for (;;) op.poll(50);
        } catch (const backendai::ApiError &e) {
            EXPECT_EQ(e.http_status(), 404);
            EXPECT_EQ(e.code(), BAI_E_SESSION_GONE);
        }
    }
    EXPECT_EQ(op.code(), BAI_E_SESSION_GONE);
}
