// The pieces of a run that the worker hands to its executor: the dataset's place, the
// command's arguments and environment, the reading of its output.

#include <unistd.h>

#include <climits>
#include <cstdint>
#include <cstdio>
#include <condition_variable>
#include <mutex>
#include <random>

#include "pangeo_forge/worker/worker.hpp"

namespace pangeo_forge::worker {

bool StorageSettings::operator==(const StorageSettings& other) const {
    return root_path == other.root_path && public_url_template == other.public_url_template;
}

bool ExecutorResult::operator==(const ExecutorResult& other) const {
    return outcome == other.outcome && trace == other.trace && job_name == other.job_name && job_id == other.job_id &&
           dataset_public_url == other.dataset_public_url && dataset_type == other.dataset_type;
}

bool WorkerSummary::operator==(const WorkerSummary& other) const {
    return claimed == other.claimed && succeeded == other.succeeded && failed == other.failed &&
           submitted == other.submitted && released == other.released && stopped == other.stopped &&
           unreported == other.unreported;
}

std::string dataset_sub_path(const model::RecipeRunWithRelations& run) {
    const auto& spec = run.feedstock.spec;
    const auto& recipe = run.recipe_run;
    if (!recipe.is_test) return spec + "/" + recipe.recipe_id;
    return "test/" + spec + "/recipe-run-" + std::to_string(recipe.id) + "/" + recipe.recipe_id;
}

std::optional<std::string> dataset_public_url(const StorageSettings& storage, const std::string& sub_path) {
    if (storage.public_url_template.empty()) return std::nullopt;
    std::string url;
    const std::string& text = storage.public_url_template;
    static constexpr std::string_view placeholder = "{path}";
    std::size_t from = 0;
    for (auto at = text.find(placeholder); at != std::string::npos; at = text.find(placeholder, from)) {
        url.append(text, from, at - from).append(sub_path);
        from = at + placeholder.size();
    }
    return url.append(text, from, std::string::npos);
}

std::string_view to_string(StopReason reason) {
    switch (reason) {
        case StopReason::none: return "none";
        case StopReason::cancelled: return "cancelled";
        case StopReason::fenced: return "fenced";
        case StopReason::released: return "released";
    }
    return "none";
}

struct StopToken::State {
    mutable std::mutex mutex;
    mutable std::condition_variable changed;
    std::atomic<StopReason> reason{StopReason::none};
};

StopToken::StopToken() : state_(std::make_shared<State>()) {}

bool StopToken::stop_requested() const { return reason() != StopReason::none; }

StopReason StopToken::reason() const { return state_->reason.load(); }

bool StopToken::wait_for(std::chrono::milliseconds timeout) const {
    std::unique_lock lock(state_->mutex);
    return state_->changed.wait_for(lock, timeout, [this] { return stop_requested(); });
}

void StopToken::request(StopReason reason) const {
    {
        std::lock_guard lock(state_->mutex);
        auto none = StopReason::none;
        state_->reason.compare_exchange_strong(none, reason);
    }
    state_->changed.notify_all();
}

std::vector<std::string> default_command() {
    // pangeo-forge-runner's own flags: --repo and --ref fetch the feedstock at the run's
    // commit, --json gives the line protocol the worker reads, --Bake.recipe_id picks the
    // recipe, --prune bakes a test run on a few inputs only.
    return {"pangeo-forge-runner", "bake", "--repo", "{repo}", "--ref", "{head_sha}", "--json",
            "--Bake.recipe_id={recipe_id}", "{prune}"};
}

namespace {

std::optional<std::string> placeholder_value(std::string_view name, const RunContext& context) {
    const auto& run = context.recipe_run();
    if (name == "recipe_run_id") return std::to_string(run.id);
    if (name == "recipe_id") return run.recipe_id;
    if (name == "head_sha") return run.head_sha;
    if (name == "feedstock_spec") return context.claim.run.feedstock.spec;
    if (name == "is_test") return run.is_test ? "true" : "false";
    if (name == "attempt") return std::to_string(context.attempt());
    if (name == "repo") return "https://github.com/" + context.claim.run.feedstock.spec;
    if (name == "prune") return run.is_test ? "--prune" : "";
    if (name == "dataset_path") return context.dataset_path;
    if (name == "dataset_url") return context.dataset_url.value_or("");
    return std::nullopt;
}

std::string expand(const std::string& argument, const RunContext& context) {
    std::string out;
    std::size_t from = 0;
    while (from < argument.size()) {
        auto open = argument.find('{', from);
        if (open == std::string::npos) break;
        auto close = argument.find('}', open + 1);
        if (close == std::string::npos) break;
        out.append(argument, from, open - from);
        auto value = placeholder_value(std::string_view(argument).substr(open + 1, close - open - 1), context);
        if (value) {
            out += *value;
            from = close + 1;
        } else {  // not ours (a JSON argument, a shell's ${VAR}): kept, and the search goes on after the '{'
            out += '{';
            from = open + 1;
        }
    }
    return out.append(argument, from, std::string::npos);
}

}  // namespace

std::vector<std::string> expand_arguments(const std::vector<std::string>& arguments, const RunContext& context) {
    std::vector<std::string> out;
    out.reserve(arguments.size());
    for (const auto& argument : arguments) {
        // Alone, {prune} is a flag that is there or not; an empty argument would be taken
        // by the runner for a positional one.
        if (argument == "{prune}" && !context.recipe_run().is_test) continue;
        out.push_back(expand(argument, context));
    }
    return out;
}

std::vector<std::pair<std::string, std::string>> run_environment(const RunContext& context) {
    const auto& run = context.recipe_run();
    std::vector<std::pair<std::string, std::string>> out{
        {"PANGEO_FORGE_RECIPE_RUN_ID", std::to_string(run.id)},
        {"PANGEO_FORGE_RECIPE_ID", run.recipe_id},
        {"PANGEO_FORGE_HEAD_SHA", run.head_sha},
        {"PANGEO_FORGE_FEEDSTOCK_SPEC", context.claim.run.feedstock.spec},
        {"PANGEO_FORGE_IS_TEST", run.is_test ? "true" : "false"},
        {"PANGEO_FORGE_ATTEMPT", std::to_string(context.attempt())},
        {"PANGEO_FORGE_DATASET_PATH", context.dataset_path},
    };
    if (context.dataset_url) out.emplace_back("PANGEO_FORGE_DATASET_URL", *context.dataset_url);
    return out;
}

namespace {

// The length of the UTF-8 character at text[i] (1 to 4), or 0 when none starts there:
// no overlong forms, no surrogates, nothing beyond U+10FFFF (what JSON accepts).
std::size_t utf8_sequence(std::string_view text, std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char lead = byte(i);
    if (lead < 0x80) return 1;
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;  // the bounds of the second byte
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        if (lead == 0xE0) low = 0xA0;
        if (lead == 0xED) high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        if (lead == 0xF0) low = 0x90;
        if (lead == 0xF4) high = 0x8F;
    } else {
        return 0;
    }
    if (text.size() - i < length) return 0;
    if (byte(i + 1) < low || byte(i + 1) > high) return 0;
    for (std::size_t k = 2; k < length; ++k) {
        if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
    }
    return length;
}

// Where `text` stops being UTF-8; its size when it is.
std::size_t first_invalid_utf8(std::string_view text) {
    for (std::size_t i = 0; i < text.size();) {
        std::size_t length = utf8_sequence(text, i);
        if (length == 0) return i;
        i += length;
    }
    return text.size();
}

}  // namespace

OutputLine parse_output_line(std::string_view line) {
    OutputLine out;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto json = nlohmann::json::parse(line.begin(), line.end(), nullptr, false);
    if (json.is_discarded() || !json.is_object()) return out;
    out.kind = OutputLine::Kind::progress;
    auto status = json.find("status");
    if (status != json.end() && status->is_string() && *status == "submitted") {
        out.kind = OutputLine::Kind::submitted;
        // The runner writes them as strings; a number is taken as its text.
        auto text = [&json](const char* key) -> std::optional<std::string> {
            auto found = json.find(key);
            if (found == json.end() || found->is_null()) return std::nullopt;
            return found->is_string() ? found->get<std::string>() : found->dump();
        };
        out.job_name = text("job_name");
        out.job_id = text("job_id");
    }
    out.json = std::move(json);
    return out;
}

OutputTail::OutputTail(std::size_t max_lines, std::size_t max_bytes)
    : max_lines_(max_lines < 1 ? 1 : max_lines), max_bytes_(max_bytes < 1 ? 1 : max_bytes) {}

void OutputTail::append(std::string_view chunk) {
    while (!chunk.empty()) {
        if (!last_open_) {
            lines_.emplace_back();
            last_open_ = true;
        }
        auto end = chunk.find('\n');
        auto piece = chunk.substr(0, end);
        auto& line = lines_.back();
        line.append(piece);
        bytes_ += piece.size();
        // A line longer than the whole bound keeps its end: the part of a message nearest
        // the failure. Cut as it grows, so that one endless line costs max_bytes at most.
        if (line.size() > max_bytes_) {
            bytes_ -= line.size() - max_bytes_;
            line.erase(0, line.size() - max_bytes_);
        }
        if (end == std::string_view::npos) break;
        last_open_ = false;
        chunk.remove_prefix(end + 1);
        trim();
    }
    trim();
}

void OutputTail::trim() {
    // +1 a line for its '\n' in text().
    auto size = [this] { return bytes_ + (lines_.empty() ? 0 : lines_.size() - 1); };
    while (lines_.size() > 1 && (lines_.size() > max_lines_ || size() > max_bytes_)) {
        bytes_ -= lines_.front().size();
        lines_.erase(lines_.begin());
    }
}

std::string OutputTail::text() const {
    std::string out;
    for (std::size_t i = 0; i < lines_.size(); ++i) {
        if (i) out += '\n';
        out += lines_[i];
    }
    if (std::size_t bad = first_invalid_utf8(out); bad != out.size()) {
        // Not UTF-8 (another encoding, binary, or a character cut where a long line was
        // cut): each such byte becomes U+FFFD, so that a trace goes into a report's JSON.
        // That takes more bytes: the front gives them back, at a character's start.
        std::string valid = out.substr(0, bad);
        for (std::size_t i = bad; i < out.size();) {
            std::size_t length = utf8_sequence(out, i);
            if (length == 0) {
                valid += "\xEF\xBF\xBD";
                ++i;
            } else {
                valid.append(out, i, length);
                i += length;
            }
        }
        std::size_t start = valid.size() > max_bytes_ ? valid.size() - max_bytes_ : 0;
        while (start < valid.size() && (static_cast<unsigned char>(valid[start]) & 0xC0) == 0x80) ++start;
        out = valid.substr(start);
    }
    return out;
}

bool OutputTail::empty() const { return lines_.empty(); }

std::string default_worker_name() {
    char host[HOST_NAME_MAX + 1] = {};
    if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::snprintf(host, sizeof host, "localhost");
    // A few random characters too: the pid is 1 in every container whose entrypoint is the worker.
    static const char* hex = "0123456789abcdef";
    auto random = static_cast<std::uint32_t>(std::random_device{}());
    std::string suffix;
    for (int shift = 12; shift >= 0; shift -= 4) suffix += hex[(random >> shift) & 15];
    return std::string(host) + ":" + std::to_string(getpid()) + ":" + suffix;
}

}  // namespace pangeo_forge::worker
