// Tests of backendai.hpp against the real library and a running local server
// (BACKEND_ENDPOINT, BACKEND_ACCESS_KEY, BACKEND_SECRET_KEY).
#include <backendai.hpp>

#include "support.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using backendai::Compute;
using backendai::Session;

std::string_view second_tu_version();

using namespace bai_test;

namespace {

// Prints, pauses, then writes a marker file: the marker proves the run was not stopped.
const char *kSlow =
    "import time\nprint(\"first\", flush=True)\ntime.sleep(4)\n"
    "open(\"marker.txt\", \"w\").write(\"reached\")\nprint(\"second\")\n";

std::string env(const char *name) {
    const char *v = std::getenv(name);
    return v ? v : "";
}

struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() / unique("tmp");
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

void write_file(const fs::path &p, const std::string &content) {
    std::ofstream f(p, std::ios::binary);
    f << content;
}

std::string read_file(const fs::path &p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

bool has_marker(Compute &c) {
    for (auto &e : c.list_files("."))
        if (e.name == "marker.txt") return true;
    return false;
}

// A compute session destroyed at the end of each test.
class ComputeTest : public ::testing::Test {
protected:
    void SetUp() override {
        api = std::make_unique<Session>(Session::from_env());
        cs = std::make_unique<Compute>(api->create(kImage, named("t")));
    }
    void TearDown() override {
        if (cs) {
            try {
                cs->destroy();
            } catch (const backendai::Error &) {
            }
        }
        cs.reset();
        api.reset();
    }
    std::unique_ptr<Session> api;
    std::unique_ptr<Compute> cs;
};

}  // namespace

// ---- compile-time ownership rules ----------------------------------------------------------

static_assert(!std::is_copy_constructible_v<backendai::Session>);
static_assert(!std::is_copy_constructible_v<backendai::Compute>);
static_assert(!std::is_copy_constructible_v<backendai::Config>);
static_assert(!std::is_copy_constructible_v<backendai::Operation>);
static_assert(std::is_nothrow_move_constructible_v<backendai::Session>);
static_assert(std::is_nothrow_move_constructible_v<backendai::Compute>);
static_assert(std::is_nothrow_move_constructible_v<backendai::Operation>);

// ---- sessions and errors ------------------------------------------------------------------

TEST(Library, VersionMatchesHeader) {
    EXPECT_NO_THROW(backendai::check_version());
    EXPECT_EQ(second_tu_version().substr(0, 13), "libbackendai/");
}

TEST(Sessions, VersionsFromEnvironment) {
    Session s = Session::from_env();
    std::string v = s.get_versions();
    EXPECT_NE(v.find("\"version\""), std::string::npos) << v;
    EXPECT_EQ(s.api_version().substr(0, 1), "v");
}

TEST(Sessions, ExplicitConfigDoesNotShowSecret) {
    backendai::Config cfg;
    cfg.endpoint(env("BACKEND_ENDPOINT")).keypair(env("BACKEND_ACCESS_KEY"), env("BACKEND_SECRET_KEY"));
    EXPECT_EQ(cfg.describe().find(env("BACKEND_SECRET_KEY")), std::string::npos);
    Session s(cfg);
    EXPECT_NO_THROW(s.get_versions());
}

TEST(Errors, WrongSecretKeyIs401) {
    backendai::Config cfg;
    cfg.endpoint(env("BACKEND_ENDPOINT")).keypair(env("BACKEND_ACCESS_KEY"), "wrong-secret-key-0123456789");
    Session s(cfg);
    // GET / needs no authentication, even with a bad signature.
    EXPECT_NO_THROW(s.get_versions());
    try {
        s.create(kImage, named("denied"));
        FAIL() << "no exception";
    } catch (const backendai::ApiError &e) {
        EXPECT_EQ(e.http_status(), 401);
        EXPECT_EQ(e.code(), BAI_E_AUTH);
        EXPECT_STREQ(e.code_name(), "BAI_E_AUTH");
        EXPECT_EQ(e.server_type(), "https://api.backend.ai/probs/auth-failed");
        // 26.09 adds its own error_code; 23.09 sends none.
        const char *release = std::getenv("BAI_TEST_EMULATE");
        if (release != nullptr && std::string(release) == "23.09") {
            EXPECT_EQ(e.server_code(), "");
        } else {
            EXPECT_EQ(e.server_code(), "user_auth_unauthorized");
        }
        EXPECT_FALSE(e.message().empty());
        EXPECT_EQ(std::string(e.what()).find("wrong-secret-key"), std::string::npos);
    }
    // A raw request gets the HTTP answer instead of an exception.
    backendai::Response r = s.request("GET", "/auth");
    EXPECT_EQ(r.status(), 401);
}

TEST(Sessions, RawRequestIsSigned) {
    Session s = Session::from_env();
    backendai::Response r = s.request("GET", "/auth");
    EXPECT_EQ(r.status(), 200);
    EXPECT_NE(r.body().find("\"authorized\""), std::string_view::npos) << r.body();
}

TEST(Errors, UnreachableServerIsClientError) {
    backendai::Config cfg;
    cfg.endpoint("http://127.0.0.1:9").keypair("AK", "SK").connect_timeout(2000ms);
    Session s(cfg);
    try {
        s.get_versions();
        FAIL() << "no exception";
    } catch (const backendai::ApiError &) {
        FAIL() << "an API error without an answer";
    } catch (const backendai::ClientError &e) {
        EXPECT_TRUE(e.code() == BAI_E_NETWORK || e.code() == BAI_E_TIMEOUT) << e.what();
        EXPECT_EQ(e.http_status(), 0);
    }
}

TEST(Errors, InvalidArgumentsThrowAtOnce) {
    backendai::Config cfg;
    EXPECT_THROW(cfg.endpoint("not a url"), backendai::ClientError);
    Session s = Session::from_env();
    try {
        s.list(std::nullopt, 0, 0);
        FAIL() << "no exception";
    } catch (const backendai::ClientError &e) {
        EXPECT_EQ(e.code(), BAI_E_INVALID_ARG);
    }
}

TEST(Errors, UnknownImageIs404) {
    Session s = Session::from_env();
    try {
        s.create("no-such-image:0.0", named("noimage"));
        FAIL() << "no exception";
    } catch (const backendai::ApiError &e) {
        EXPECT_EQ(e.http_status(), 404);
        EXPECT_EQ(e.code(), BAI_E_NOT_FOUND);
    }
}

// ---- the scenario ---------------------------------------------------------------------------

TEST(Scenario, OpenCreateRunUploadDestroy) {
    TempDir tmp;
    Session api = Session::from_env();
    backendai::CreateOptions o = named("scenario");
    o.resources = {{"cpu", "1"}, {"mem", "256m"}};
    Compute cs = api.create(kImage, o);
    EXPECT_TRUE(cs.created());
    EXPECT_EQ(cs.status(), "RUNNING");
    EXPECT_FALSE(cs.id().empty());

    std::string out;
    std::thread::id cb_thread;
    cs.on_console([&](const backendai::ConsoleRecord &r) {
        if (r.stream == backendai::Stream::Stdout) out += r.data;
        cb_thread = std::this_thread::get_id();
    });
    auto res = cs.run("for i in range(3):\n    print('line', i)\n");
    EXPECT_EQ(res.status, "finished");
    ASSERT_TRUE(res.exit_code.has_value());
    EXPECT_EQ(*res.exit_code, 0);
    EXPECT_EQ(out, "line 0\nline 1\nline 2\n");
    EXPECT_EQ(cb_thread, std::this_thread::get_id());

    write_file(tmp.path / "data.txt", "from the C++ client\n");
    cs.upload({(tmp.path / "data.txt").string()}, tmp.path.string());
    out.clear();
    cs.run("print(open('data.txt').read(), end='')");
    EXPECT_EQ(out, "from the C++ client\n");

    Compute again = api.create(kImage, [&] {
        backendai::CreateOptions r;
        r.name = std::string(cs.name());
        return r;
    }());
    EXPECT_FALSE(again.created());
    EXPECT_EQ(again.id(), cs.id());

    cs.destroy();
    try {
        cs.info();
        FAIL() << "session still there";
    } catch (const backendai::ApiError &e) {
        EXPECT_EQ(e.http_status(), 404);
    }
}

TEST_F(ComputeTest, ExecuteStepsLikeTheSdkLoop) {
    std::string out, err;
    cs->on_console([&](const backendai::ConsoleRecord &r) {
        (r.stream == backendai::Stream::Stderr ? err : out) += r.data;
    });
    std::optional<std::string> run_id;
    std::string code = "import sys\nprint('out')\nprint('err', file=sys.stderr)";
    auto mode = backendai::ExecMode::Query;
    backendai::ExecResult r;
    for (int i = 0; i < 100; i++) {
        r = cs->execute(run_id, code, mode);
        run_id = r.run_id;
        if (r.status == "finished") break;
        mode = backendai::ExecMode::Continue;
        code.clear();
    }
    EXPECT_EQ(r.status, "finished");
    EXPECT_EQ(r.exit_code.value_or(-1), 0);
    EXPECT_EQ(out, "out\n");
    EXPECT_EQ(err, "err\n");
}

TEST_F(ComputeTest, InputCallbackAnswers) {
    std::string out;
    std::vector<bool> prompts;
    cs->on_console([&](const backendai::ConsoleRecord &r) { out += r.data; });
    cs->on_input([&](const backendai::InputRequest &req) -> std::optional<std::string> {
        prompts.push_back(req.is_password);
        return std::string("realstack");
    });
    auto r = cs->run("name = input('name? ')\nprint('hello,', name)");
    EXPECT_EQ(r.exit_code.value_or(-1), 0);
    EXPECT_EQ(prompts, std::vector<bool>{false});
    EXPECT_EQ(out, "name? hello, realstack\n");
}

TEST_F(ComputeTest, MediaCallbackGetsDecodedBytes) {
    std::vector<std::pair<std::string, std::string>> got;
    cs->on_media([&](const backendai::MediaRecord &m) {
        got.emplace_back(std::string(m.mime), std::string(m.data));
        EXPECT_EQ(m.decoded, m.mime == "image/png");
    });
    auto r = cs->run(
        "from backendai_kernel import emit_media\n"
        "emit_media('image/png', b'\\x89PNG\\r\\n\\x1a\\nrest')\n"
        "emit_media('image/svg+xml', '<svg/>')\n");
    EXPECT_EQ(r.exit_code.value_or(-1), 0);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].first, "image/png");
    EXPECT_EQ(got[0].second, std::string("\x89PNG\r\n\x1a\nrest", 12));
    EXPECT_EQ(got[1].first, "image/svg+xml");
    EXPECT_EQ(got[1].second, "<svg/>");
}

TEST_F(ComputeTest, FilesListAndDownload) {
    TempDir tmp;
    std::string content(4000, '\0');
    for (size_t i = 0; i < content.size(); i++) content[i] = static_cast<char>(i * 7);
    write_file(tmp.path / "up.bin", content);
    uint64_t last_done = 0;
    cs->on_progress([&](uint64_t done, uint64_t) { last_done = done; });
    cs->upload(std::vector<std::string>{(tmp.path / "up.bin").string()}, tmp.path.string());
    EXPECT_EQ(last_done, content.size());
    cs->run("import os\nos.makedirs('outdir', exist_ok=True)\nopen('outdir/r.txt','w').write('42\\n')");
    bool saw_file = false, saw_dir = false;
    for (auto &e : cs->list_files(".")) {
        if (e.name == "up.bin") saw_file = e.size == content.size() && !e.is_dir;
        if (e.name == "outdir") saw_dir = e.is_dir;
    }
    EXPECT_TRUE(saw_file);
    EXPECT_TRUE(saw_dir);
    fs::path dest = tmp.path / "down";
    fs::create_directories(dest);
    std::string names = cs->download({"up.bin", "outdir/r.txt"}, dest.string());
    EXPECT_NE(names.find("up.bin"), std::string::npos) << names;
    EXPECT_EQ(read_file(dest / "up.bin"), content);
    int found = 0;
    for (auto &p : fs::recursive_directory_iterator(dest))
        if (p.path().filename() == "r.txt") found += read_file(p.path()) == "42\n";
    EXPECT_EQ(found, 1);
    EXPECT_THROW(cs->download({"no-such-file"}, dest.string()), backendai::ApiError);
}

// ---- stopping -----------------------------------------------------------------------------

namespace {
struct Boom : std::runtime_error {
    using std::runtime_error::runtime_error;
};
}  // namespace

TEST_F(ComputeTest, ExceptionInCallbackStopsRunAndIsRethrown) {
    int calls = 0;
    cs->on_console([&](const backendai::ConsoleRecord &r) {
        calls++;
        throw Boom(std::string(r.data));
    });
    auto t0 = std::chrono::steady_clock::now();
    try {
        cs->run(kSlow);
        FAIL() << "no exception";
    } catch (const Boom &b) {
        EXPECT_EQ(std::string(b.what()).substr(0, 5), "first");
    }
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 3500ms);
    EXPECT_EQ(calls, 1);
    std::this_thread::sleep_for(4500ms);
    EXPECT_FALSE(has_marker(*cs));
    // The handle serves the next run normally.
    std::string out;
    cs->on_console([&](const backendai::ConsoleRecord &r) { out += r.data; });
    cs->run("print('still alive')");
    EXPECT_EQ(out, "still alive\n");
}

TEST_F(ComputeTest, ExceptionInInputCallbackIsRethrown) {
    cs->on_input([](const backendai::InputRequest &) -> std::optional<std::string> { throw Boom("no input"); });
    EXPECT_THROW(cs->run("input('? ')"), Boom);
}

TEST_F(ComputeTest, CallbackReturningFalseAborts) {
    cs->on_console([](const backendai::ConsoleRecord &) { return false; });
    try {
        cs->run(kSlow);
        FAIL() << "no exception";
    } catch (const backendai::CallbackAborted &e) {
        EXPECT_EQ(e.code(), BAI_E_ABORTED_BY_CALLBACK);
    }
}

TEST_F(ComputeTest, CancelFromAnotherThread) {
    std::thread t([&] {
        std::this_thread::sleep_for(800ms);
        cs->cancel();
    });
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_THROW(cs->run(kSlow), backendai::CancelledError);
    t.join();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 3500ms);
    std::this_thread::sleep_for(4500ms);
    EXPECT_FALSE(has_marker(*cs));
}

TEST_F(ComputeTest, OperationPollAndCancel) {
    backendai::Operation op = cs->run_start(kSlow);
    auto until = std::chrono::steady_clock::now() + 1s;
    while (std::chrono::steady_clock::now() < until) EXPECT_EQ(op.poll(50), backendai::PollState::Pending);
    op.cancel();
    op.cancel();
    EXPECT_THROW(
        {
            for (;;) op.poll(100);
        },
        backendai::CancelledError);
    EXPECT_THROW(op.poll(0), backendai::CancelledError);
    EXPECT_EQ(op.code(), BAI_E_INTERRUPTED);
}

TEST_F(ComputeTest, OperationWaitingInput) {
    std::string out;
    cs->on_console([&](const backendai::ConsoleRecord &r) { out += r.data; });
    backendai::Operation op = cs->run_start("print('sum', int(input('a? ')) + 1)");
    std::vector<std::string> prompts;
    auto r = op.wait([&](const backendai::InputRequest &req) {
        prompts.push_back(req.prompt);
        EXPECT_FALSE(req.is_password);
        EXPECT_EQ(req.run_id, op.run_id());
        return std::string("41");
    });
    EXPECT_EQ(r.exit_code.value_or(-1), 0);
    EXPECT_EQ(prompts, std::vector<std::string>{"a? "});
    EXPECT_EQ(out, "a? sum 42\n");
}

TEST_F(ComputeTest, OperationRethrowsCallbackException) {
    cs->on_console([](const backendai::ConsoleRecord &) { throw Boom("from poll"); });
    backendai::Operation op = cs->run_start(kSlow);
    EXPECT_THROW(
        {
            for (;;) op.poll(100);
        },
        Boom);
}

TEST_F(ComputeTest, UserdataReleasedWhenHandleFreed) {
    auto token = std::make_shared<int>(7);
    cs->on_console([token](const backendai::ConsoleRecord &) {});
    EXPECT_EQ(token.use_count(), 2);
    // Replacing the callback releases the previous one.
    cs->on_console([](const backendai::ConsoleRecord &) {});
    EXPECT_EQ(token.use_count(), 1);
    cs->on_media([token](const backendai::MediaRecord &) {});
    EXPECT_EQ(token.use_count(), 2);
    cs->destroy();
    cs.reset();
    EXPECT_EQ(token.use_count(), 1);
}

// ---- listing ------------------------------------------------------------------------------

TEST(Listing, PagesCoverCreatedSessions) {
    Session api = Session::from_env();
    std::vector<Compute> made;
    for (int i = 0; i < 3; i++) made.push_back(api.create(kImage, named("list")));
    std::vector<std::string> ids;
    uint64_t offset = 0;
    for (int guard = 0; guard < 100; guard++) {
        backendai::Page page = api.list(std::string("RUNNING"), offset, 2);
        EXPECT_GE(page.total_count(), 3u);
        EXPECT_LE(page.size(), 2u);
        for (size_t i = 0; i < page.size(); i++) {
            ids.push_back(page.field(i, "id").value_or(""));
            EXPECT_EQ(page.field(i, "status").value_or(""), "RUNNING");
            EXPECT_EQ(page.item_json(i).substr(0, 1), "{");
        }
        offset += page.size();
        if (offset >= page.total_count() || page.size() == 0) break;
    }
    for (auto &m : made) {
        EXPECT_NE(std::find(ids.begin(), ids.end(), std::string(m.id())), ids.end()) << m.id();
        m.destroy();
    }
}
