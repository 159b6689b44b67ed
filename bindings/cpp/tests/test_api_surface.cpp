// The wrapper against the header it wraps, and the smaller hooks (log, timeouts, headers).
#include <backendai.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <mutex>
#include <random>
#include <regex>
#include <set>
#include <sstream>

#ifndef BAI_HEADER_PATH
#error "BAI_HEADER_PATH must name backendai.h"
#endif
#ifndef BAI_HPP_PATH
#error "BAI_HPP_PATH must name backendai.hpp"
#endif

using namespace std::chrono_literals;

namespace {
std::string slurp(const char *path) {
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}
}  // namespace

// Fails when the C API gains a function the wrapper does not use yet.
TEST(Surface, EveryHeaderFunctionIsWrapped) {
    std::string h = slurp(BAI_HEADER_PATH), hpp = slurp(BAI_HPP_PATH);
    ASSERT_FALSE(h.empty());
    ASSERT_FALSE(hpp.empty());
    // Not needed by a C++ wrapper: the return code is authoritative, and messages are
    // copied into std::string straight from the borrowed pointer.
    const std::set<std::string> skipped = {"bai_last_error_code", "bai_last_error_message_copy"};
    std::regex fn(R"(BAI_API\s+[^;{(]*?\b(bai_\w+)\s*\()");
    std::vector<std::string> missing;
    size_t total = 0;
    for (auto it = std::sregex_iterator(h.begin(), h.end(), fn); it != std::sregex_iterator(); ++it) {
        std::string name = (*it)[1];
        total++;
        if (skipped.count(name)) continue;
        if (!std::regex_search(hpp, std::regex("\\b" + name + "\\b"))) missing.push_back(name);
    }
    EXPECT_GT(total, 50u);
    std::string list;
    for (auto &m : missing) list += m + " ";
    EXPECT_TRUE(missing.empty()) << "not wrapped: " << list;
}

TEST(Surface, VersionNumbersAgree) {
    EXPECT_EQ(backendai::library_version_num(), static_cast<uint32_t>(BAI_VERSION_NUM));
}

TEST(Hooks, LogHandlerReceivesRecordsWithoutSecret) {
    backendai::Session api = backendai::Session::from_env();
    std::mutex mu;
    std::vector<std::string> messages;
    auto token = std::make_shared<int>(1);
    api.set_log_handler(
        [&mu, &messages, token](backendai::LogLevel, std::string_view target, std::string_view msg) {
            std::lock_guard<std::mutex> g(mu);
            messages.push_back(std::string(target) + ": " + std::string(msg));
        },
        backendai::LogLevel::Trace);
    EXPECT_EQ(token.use_count(), 2);
    api.get_versions();
    api.set_log_handler({});
    EXPECT_EQ(token.use_count(), 1);  // released by userdata_free
    std::lock_guard<std::mutex> g(mu);
    EXPECT_FALSE(messages.empty());
    const char *secret = std::getenv("BACKEND_SECRET_KEY");
    for (auto &m : messages) EXPECT_EQ(m.find(secret), std::string::npos);
}

TEST(Hooks, ThrowingLogHandlerIsContained) {
    backendai::Session api = backendai::Session::from_env();
    api.set_log_handler([](backendai::LogLevel, std::string_view, std::string_view) { throw std::runtime_error("x"); },
                        backendai::LogLevel::Debug);
    EXPECT_NO_THROW(api.get_versions());
}

TEST(Hooks, PerHandleTimeout) {
    backendai::Session api = backendai::Session::from_env();
    backendai::CreateOptions o;
    std::mt19937 rng{std::random_device{}()};
    o.name = "cpp-timeout-" + std::to_string(rng() % 1000000);
    backendai::Compute cs = api.create("python:3.9-ubuntu20.04", o);
    cs.set_timeout(300ms);
    try {
        cs.execute(std::nullopt, "import time\ntime.sleep(5)");
        FAIL() << "no timeout";
    } catch (const backendai::ClientError &e) {
        EXPECT_EQ(e.code(), BAI_E_TIMEOUT) << e.what();
    }
    cs.set_timeout(0ms);
    cs.interrupt();
    cs.destroy();
}

TEST(Hooks, RawResponseHeaders) {
    backendai::Session api = backendai::Session::from_env();
    backendai::Response r = api.request("GET", "/auth");
    bool json = false;
    for (auto &h : r.headers())
        if (h.first == "content-type") json = h.second.rfind("application/json", 0) == 0;
    EXPECT_TRUE(json);
    EXPECT_TRUE(r.header("Content-Type").has_value());
}
