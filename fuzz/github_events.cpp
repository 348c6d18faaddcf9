// What the GitHub App reads from outside (src/github/events.hpp, expand_meta.hpp,
// signature.hpp): webhook payloads, the dataflow callback's form body, a comment's slash
// command, expand-meta's output lines, and the signature header. An input is
//
//   byte 0      which reader (modulo 5)
//   the rest    its input
//
// Checked beyond "no crash": a bad payload is a PayloadError and nothing else; a command
// starts with '/' and its words hold no blank; a dataflow callback read is completed
// with a conclusion of success or failure and an id that fits; a listing read as ok has
// recipes, each with an id, and a bakery; a signature header is valid for the body only
// when it is the header the body's signature gives.

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>

#include "expect.hpp"
#include "github/events.hpp"
#include "github/expand_meta.hpp"
#include "pangeo_forge/github/signature.hpp"

namespace {

using namespace pangeo_forge;
using namespace pangeo_forge::github::detail;
using fuzz::require;
using fuzz::succeeds;

void payloads(std::string_view input) {
    nlohmann::json payload;
    if (!succeeds<PayloadError>([&] { payload = parse_payload(input); })) return;
    succeeds<PayloadError>([&] {
        auto event = read_pull_request(payload);
        require(event.repository == event.owner + "/" + event.repository_name, "a full name is owner/name");
        skip_reason(event);
    });
    succeeds<PayloadError>([&] { read_issue_comment(payload); });
}

void command(std::string_view input) {
    auto read = read_slash_command(input);
    if (!read) return;
    require(!read->name.empty() && read->name.front() == '/', "a command starts with '/'");
    for (const auto& word : read->arguments) {
        require(!word.empty() && word.find_first_of(" \t\r\n") == std::string::npos, "an argument is one word");
    }
}

void dataflow(std::string_view input) {
    succeeds<PayloadError>([&] {
        auto event = read_dataflow(input);
        require(event.conclusion == "success" || event.conclusion == "failure", "a conclusion is success or failure");
        require(event.recipe_run_id >= 0, "a run id is not negative");
    });
}

void listing(std::string_view input) {
    std::vector<std::string> lines;
    std::istringstream stream{std::string(input)};
    for (std::string line; std::getline(stream, line);) lines.push_back(line);
    auto read = read_listing(lines);
    if (!read.ok) {
        require(!read.error.empty(), "a listing that is not ok says why");
        return;
    }
    require(!read.recipe_ids.empty() && !read.bakery.empty(), "an ok listing has recipes and a bakery");
    for (const auto& id : read.recipe_ids) require(!id.empty(), "every recipe has an id");
}

void signature(std::string_view input) {
    auto split = input.find('\n');
    std::string_view header = input.substr(0, split);
    std::string_view body = split == std::string_view::npos ? std::string_view() : input.substr(split + 1);
    const bool valid = github::signature_valid("fuzz secret", body, header);
    require(valid == (header == github::signature_header("fuzz secret", body)),
            "a header is valid exactly when it is the body's signature");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 5) {
        case 0: payloads(input); break;
        case 1: command(input); break;
        case 2: dataflow(input); break;
        case 3: listing(input); break;
        default: signature(input); break;
    }
    return 0;
}
