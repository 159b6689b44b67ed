// What every binding names and returns the same way (see bindings/README.md), and the
// lifetime of what backendai.hpp returns.
#include <backendai.hpp>

#include <gtest/gtest.h>

#include <random>
#include <sstream>
#include <type_traits>

namespace {

backendai::CreateOptions fresh(const char *prefix) {
    static std::mt19937_64 rng{std::random_device{}()};
    std::ostringstream name;
    name << "cpp-" << prefix << "-" << std::hex << (rng() & 0xffffffffu);
    backendai::CreateOptions o;
    o.name = name.str();
    return o;
}

struct Fixture : ::testing::Test {
    backendai::Session api = backendai::Session::from_env();
    backendai::Compute cs = api.create("python:3.9-ubuntu20.04", fresh("vocab"));
    ~Fixture() override {
        try {
            cs.destroy();
        } catch (const backendai::Error &) {
        }
    }
};

// Strings that live in the handle are copied out: info() replaces the status, and the
// handle's strings go away with it. (Under AddressSanitizer a view would fail here with a
// heap-use-after-free; the types make it fail to compile first.)
static_assert(std::is_same_v<decltype(std::declval<backendai::Compute &>().status()), std::string>);
static_assert(std::is_same_v<decltype(std::declval<backendai::Compute &>().id()), std::string>);
static_assert(std::is_same_v<decltype(std::declval<backendai::Compute &>().name()), std::string>);
static_assert(std::is_same_v<decltype(std::declval<backendai::Session &>().api_version()), std::string>);

TEST_F(Fixture, StatusOutlivesInfo) {
    auto status = cs.status();
    auto id = cs.id();
    cs.info();
    cs.info();
    EXPECT_EQ(status, "RUNNING");
    EXPECT_EQ(id, cs.id());
}

TEST_F(Fixture, PromptAndPasswordReachTheInputCallback) {
    std::vector<std::pair<std::string, bool>> seen;
    cs.on_input([&](const backendai::InputRequest &r) {  // no console callback of ours
        seen.emplace_back(r.prompt, r.is_password);
        return std::optional<std::string>("x");
    });
    auto r = cs.run("import getpass\nprint('before')\na = input('user: ')\nb = getpass.getpass('pass: ')\nprint(a, len(b))");
    EXPECT_EQ(r.exit_code.value_or(-1), 0);
    std::vector<std::pair<std::string, bool>> want{{"user: ", false}, {"pass: ", true}};
    EXPECT_EQ(seen, want);

    std::string out;
    seen.clear();
    cs.on_console([&](const backendai::ConsoleRecord &rec) { out += rec.data; });
    cs.run("print('a'); print('b? ', end=''); input('c? ')");
    EXPECT_EQ(out, "a\nb? c? ");
    want = {{"b? c? ", false}};
    EXPECT_EQ(seen, want);
}

TEST_F(Fixture, OptionsAreParsedOrNullopt) {
    auto step = cs.execute(std::nullopt, "x = input('x? ')");
    ASSERT_EQ(step.status, "waiting-input");
    ASSERT_TRUE(step.options.has_value());
    EXPECT_EQ(step.options->at("is_password"), "false");
    auto done = cs.execute(step.run_id, "1", backendai::ExecMode::Input);
    while (done.status != "finished") done = cs.execute(step.run_id, "", backendai::ExecMode::Continue);
    EXPECT_FALSE(done.options.has_value());
}

TEST_F(Fixture, AGoneSessionIsNotFound) {
    cs.destroy();
    try {
        cs.run("print('never')");
        FAIL() << "a run on a destroyed session succeeded";
    } catch (const backendai::NotFoundError &e) {
        EXPECT_EQ(e.http_status(), 404);
        EXPECT_TRUE(e.code() == BAI_E_SESSION_GONE || e.code() == BAI_E_NOT_FOUND) << e.code_name();
    }
    cs = api.create("python:3.9-ubuntu20.04", fresh("vocab"));
}

TEST(Fields, ParsesOneObject) {
    auto f = backendai::parse_fields(R"( {"a": "x\"y\u00e9\ud83d\ude00", "b": false, "c": [1, {"d": "}"}], "e": 2.5 } )");
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(f->at("a"), "x\"y\xc3\xa9\xf0\x9f\x98\x80");
    EXPECT_EQ(f->at("b"), "false");
    EXPECT_EQ(f->at("c"), R"([1, {"d": "}"}])");
    EXPECT_EQ(f->at("e"), "2.5");
    EXPECT_EQ(backendai::parse_fields("{}")->size(), 0u);
    EXPECT_FALSE(backendai::parse_fields("null"));
    EXPECT_FALSE(backendai::parse_fields("[1]"));
    EXPECT_FALSE(backendai::parse_fields(R"({"a": })"));
    EXPECT_FALSE(backendai::parse_fields(R"({"a": 1} x)"));
    EXPECT_FALSE(backendai::parse_fields(R"({"a": "\x"})"));
}

}  // namespace
