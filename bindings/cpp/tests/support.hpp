// Helpers every test file of backendai.hpp shares: the image the local server runs, unique
// compute-session names, and a compute session created under one.
#pragma once

#include <backendai.hpp>

#include <random>
#include <sstream>
#include <string>

namespace bai_test {

inline constexpr const char *kImage = "python:3.9-ubuntu20.04";

// A name no other test (or earlier run) uses: "cpp-<prefix>-<random hex>".
inline std::string unique(const std::string &prefix) {
    static std::mt19937_64 rng{std::random_device{}()};
    std::ostringstream s;
    s << "cpp-" << prefix << "-" << std::hex << (rng() & 0xffffffffu);
    return s.str();
}

// Create options carrying a unique name.
inline backendai::CreateOptions named(const std::string &prefix) {
    backendai::CreateOptions o;
    o.name = unique(prefix);
    return o;
}

// A new compute session with a unique name.
inline backendai::Compute make(backendai::Session &api, const std::string &prefix) {
    return api.create(kImage, named(prefix));
}

}  // namespace bai_test
