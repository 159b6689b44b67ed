// Storage folders through backendai.hpp against the local server.
#include <backendai.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

namespace fs = std::filesystem;

namespace {
std::string folder_name() {
    static std::mt19937_64 rng{std::random_device{}()};
    return "cpp_vf_" + std::to_string(rng() % 100000000);
}
void write_file(const fs::path &p, const std::string &s) {
    std::ofstream f(p, std::ios::binary);
    f << s;
}
std::string read_file(const fs::path &p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
}
}  // namespace

TEST(VFolder, CreateUploadDownloadMountDelete) {
    backendai::Session api = backendai::Session::from_env();
    std::string name = folder_name();
    api.vfolder_create(name);
    fs::path tmp = fs::temp_directory_path() / name;
    fs::create_directories(tmp / "dest");
    try {
        EXPECT_NE(api.vfolder_list().find(name), std::string::npos);
        std::string content(200000, 'x');
        for (size_t i = 0; i < content.size(); i++) content[i] = static_cast<char>(i * 31 + 7);
        write_file(tmp / "blob.bin", content);
        uint64_t last = 0;
        api.vfolder_upload(name, {(tmp / "blob.bin").string()}, tmp.string(), false,
                           backendai::OpOptions().on_progress([&](uint64_t done, uint64_t) {
                               last = done;
                               return true;
                           }));
        EXPECT_GE(last, content.size());
        EXPECT_NE(api.vfolder_list_files(name).find("blob.bin"), std::string::npos);
        api.vfolder_mkdir(name, "d1/d2", true);
        api.vfolder_move_file(name, "blob.bin", "d1/blob.bin");
        EXPECT_NE(api.vfolder_list_files(name, "d1").find("blob.bin"), std::string::npos);

        // The non-blocking download, driven by Operation::poll.
        backendai::Operation op = api.vfolder_download_start(name, {"d1/blob.bin"}, (tmp / "dest").string());
        for (int i = 0; i < 600 && op.poll(50) != backendai::PollState::Done; i++) {
        }
        EXPECT_EQ(op.code(), BAI_OK);
        EXPECT_EQ(read_file(tmp / "dest" / "blob.bin"), content);

        backendai::CreateOptions o;
        o.name = name + "_s";
        o.mounts = {name};
        backendai::Compute cs = api.create("python:3.9-ubuntu20.04", o);
        std::string out;
        cs.on_console([&](const backendai::ConsoleRecord &r) { out += r.data; });
        cs.run("import os\nprint(os.path.getsize('" + name + "/d1/blob.bin'))");
        EXPECT_EQ(out, std::to_string(content.size()) + "\n");
        cs.destroy();

        api.vfolder_delete_files(name, {"d1"}, true);
        EXPECT_EQ(api.vfolder_list_files(name).find("d1"), std::string::npos);
    } catch (...) {
        api.vfolder_delete(name);
        fs::remove_all(tmp);
        throw;
    }
    api.vfolder_delete(name);
    fs::remove_all(tmp);
    try {
        api.vfolder_info(name);
        FAIL() << "folder still there";
    } catch (const backendai::ApiError &e) {
        EXPECT_EQ(e.http_status(), 404);
    }
}

TEST(VFolder, ThrowingProgressCallbackStopsUpload) {
    backendai::Session api = backendai::Session::from_env();
    std::string name = folder_name();
    api.vfolder_create(name);
    fs::path tmp = fs::temp_directory_path() / name;
    fs::create_directories(tmp);
    write_file(tmp / "f.bin", std::string(100000, 'z'));
    struct Stop {};
    EXPECT_THROW(api.vfolder_upload(name, {(tmp / "f.bin").string()}, tmp.string(), false,
                                    backendai::OpOptions().on_progress([](uint64_t, uint64_t) -> bool { throw Stop{}; })),
                 Stop);
    api.vfolder_delete(name);
    fs::remove_all(tmp);
}
