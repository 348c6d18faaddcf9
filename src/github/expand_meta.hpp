#pragma once
// The listing of a commit's recipes: PANGEO_FORGE_EXPAND_META_COMMAND (pangeo-forge-runner
// expand-meta by default) run with /bin/sh -c, its placeholders filled with shell-quoted
// values, its output read as the runner's JSON lines. The last line with
// "status": "completed" carries the `meta` (its "recipes" list of {"id"}, its "bakery.id").

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pangeo_forge::github::detail {

struct RecipeListing {
    bool ok = false;
    std::vector<std::string> recipe_ids;
    std::string bakery;  // meta.bakery.id
    std::string error;   // when not ok: what failed, with the end of the command's error output
};

struct ExpandMetaCall {
    std::string command_template;
    std::string repo;              // https://github.com/owner/name
    std::string ref;               // the commit
    std::string feedstock_subdir;  // "" or "recipes/<dir>"
    std::chrono::milliseconds timeout{std::chrono::minutes(10)};
};

// The command line with its placeholders ({repo}, {ref}, {feedstock_subdir}) filled; each
// value single-quoted for /bin/sh, {feedstock_subdir} as "--feedstock-subdir=..." or nothing.
std::string expand_meta_command_line(const ExpandMetaCall& call);

// Reads the runner's output lines: the recipes and the bakery of its "completed" line.
RecipeListing read_listing(const std::vector<std::string>& output_lines);

// Runs it. `log` gets the command's lines (for the server's log).
RecipeListing list_recipes(const ExpandMetaCall& call, const std::function<void(const std::string&)>& log);

}  // namespace pangeo_forge::github::detail
