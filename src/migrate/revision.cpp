#include "pangeo_forge/migrate/revision.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

#include "pangeo_forge/error.hpp"
#include "pangeo_forge/migrate/lint.hpp"
#include "support/utc_time.hpp"
#include "support/json_reader.hpp"
#include "support/sha256.hpp"

namespace pangeo_forge::migrate {
namespace {

using detail::ObjectReader;
using nlohmann::json;

// "line 3, column 7" for a byte offset into `text`.
std::string position_of(std::string_view text, std::size_t offset) {
    std::size_t line = 1;
    std::size_t column = 1;
    for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
        if (text[i] == '\n') {
            ++line;
            column = 1;
        } else {
            ++column;
        }
    }
    return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

std::string field_path(const std::vector<std::string>& loc) {
    std::string path;
    for (const auto& part : loc) path += (path.empty() ? "" : ".") + part;
    return path.empty() ? "the file" : path;
}

// A string, a list of strings, or null: as Alembic writes down_revision and its kin.
std::vector<std::string> id_list(ObjectReader& in, std::string_view name) {
    const json* value = in.find(name);
    if (value == nullptr || value->is_null()) return {};
    if (value->is_string()) return {value->get<std::string>()};
    return in.decode_value<std::vector<std::string>>(name, *value).value_or(std::vector<std::string>{});
}

std::vector<Operation> operation_list(ObjectReader& in, std::string_view name) {
    std::vector<Operation> operations;
    const json* list = in.find(name);
    if (list == nullptr) return operations;
    auto loc = detail::child_loc(in.loc(), name);
    if (!list->is_array()) {
        in.errors().add(loc, detail::Problem{"value is not a valid list", "type_error.list", {}});
        return operations;
    }
    for (std::size_t i = 0; i < list->size(); ++i) {
        try {
            operations.push_back(operation_from_json((*list)[i], detail::child_loc(loc, std::to_string(i))));
        } catch (const ValidationError& error) {
            for (const auto& field : error.errors()) in.errors().add(field);
        }
    }
    return operations;
}

// "lint": {"waive": [{"rule", "operation", "reason"}]}, each waiver checked against the rules
// and the upgrade operations there are.
std::vector<LintWaiver> lint_waivers(ObjectReader& in, std::size_t upgrade_operations) {
    std::vector<LintWaiver> waivers;
    const json* section = in.find("lint");
    if (section == nullptr) return waivers;
    ObjectReader lint(*section, detail::child_loc(in.loc(), "lint"), in.errors());
    const json* waive = lint.find("waive");
    lint.reject_unknown_fields();
    if (waive == nullptr) return waivers;
    const json& list = *waive;
    const auto loc = detail::child_loc(lint.loc(), "waive");
    if (!list.is_array()) {
        in.errors().add(loc, detail::Problem{"value is not a valid list", "type_error.list", {}});
        return waivers;
    }
    for (std::size_t i = 0; i < list.size(); ++i) {
        ObjectReader item(list[i], detail::child_loc(loc, std::to_string(i)), in.errors());
        auto rule = item.required<std::string>("rule");
        auto operation = item.required<std::int64_t>("operation");
        auto reason = item.required<std::string>("reason");
        item.reject_unknown_fields();
        auto problem = [&](std::string_view field, std::string message) {
            in.errors().add(detail::child_loc(item.loc(), field),
                            detail::Problem{std::move(message), "value_error.lint", {}});
        };
        if (rule && !is_lint_rule(*rule)) {
            std::string known;
            for (const auto& each : lint_rules()) known += (known.empty() ? "" : ", ") + std::string(each.name);
            problem("rule", "unknown lint rule '" + *rule + "'; the rules are " + known);
        }
        if (operation && (*operation < 0 || static_cast<std::uint64_t>(*operation) >= upgrade_operations)) {
            problem("operation", "there is no upgrade operation " + std::to_string(*operation) + " (the upgrade has " +
                                     std::to_string(upgrade_operations) + ", numbered from 0)");
        }
        if (reason && reason->find_first_not_of(" \t\n") == std::string::npos) {
            problem("reason", "a waiver says why the finding is safe to accept: write the reason");
        }
        if (rule && operation && reason) waivers.push_back({*rule, static_cast<std::size_t>(*operation), *reason});
    }
    return waivers;
}

// Where the parser is in the document, kept by json::parse's callback, so an error it
// throws without a position (a number out of range) can still name the field.
class JsonPath {
public:
    bool track(json::parse_event_t event, const json& parsed) {
        using event_t = json::parse_event_t;
        switch (event) {
            case event_t::object_start: frames_.push_back({false, "", 0}); break;
            case event_t::array_start: frames_.push_back({true, "", 0}); break;
            case event_t::key:
                if (!frames_.empty() && parsed.is_string()) frames_.back().key = parsed.get<std::string>();
                break;
            case event_t::object_end:
            case event_t::array_end:
                if (!frames_.empty()) frames_.pop_back();
                count_element();
                break;
            case event_t::value: count_element(); break;
        }
        return true;
    }

    // The loc of the value being parsed: ["upgrade", "1", "sql"].
    std::vector<std::string> loc() const {
        std::vector<std::string> out;
        for (const auto& frame : frames_) out.push_back(frame.array ? std::to_string(frame.index) : frame.key);
        return out;
    }

private:
    struct Frame {
        bool array;
        std::string key;    // an object's: the key whose value comes next
        std::size_t index;  // an array's: the values it holds so far
    };

    void count_element() {
        if (!frames_.empty() && frames_.back().array) ++frames_.back().index;
    }

    std::vector<Frame> frames_;
};

// nlohmann's message without its "[json.exception.out_of_range.406] " prefix.
std::string without_exception_id(const std::string& what) {
    auto close = what.find("] ");
    return close == std::string::npos ? what : what.substr(close + 2);
}

bool is_valid_id(const std::string& id) {
    return !id.empty() && id.size() <= 32 &&
           std::all_of(id.begin(), id.end(), [](unsigned char c) { return std::isalnum(c) || c == '_'; });
}

json id_list_json(const std::vector<std::string>& ids) {
    if (ids.empty()) return nullptr;
    if (ids.size() == 1) return ids.front();
    return ids;
}

// An operation as a person reads it: "op" first, then "table", then the rest.
nlohmann::ordered_json readable(const json& operation) {
    nlohmann::ordered_json out;
    for (const char* key : {"op", "table"}) {
        if (operation.contains(key)) out[key] = operation[key];
    }
    for (const auto& item : operation.items()) {
        if (item.key() != "op" && item.key() != "table") out[item.key()] = item.value();
    }
    return out;
}

nlohmann::ordered_json operations_json(const std::vector<Operation>& operations) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& operation : operations) list.push_back(readable(to_json(operation)));
    return list;
}

// The document of a revision file; a MigrationError naming the place and what to write
// when it is not JSON.
json parse_document(std::string_view text, const std::filesystem::path& path) {
    // Parsed plainly first: following the path through the parser's callback costs a third
    // of the parse, and only a failure needs it.
    try {
        return json::parse(text);
    } catch (const json::exception&) {
    }
    // Again, to fail as before with the place it failed at.
    JsonPath at;
    try {
        return json::parse(text, [&at](int, json::parse_event_t event, json& parsed) {
            return at.track(event, parsed);
        });
    } catch (const json::parse_error& error) {
        throw MigrationError(path.string() + ": malformed JSON at " + position_of(text, error.byte) +
                             "; fix the file or remove it");
    } catch (const json::out_of_range& error) {
        // A number beyond a double's range (1e400): nlohmann has no position for it.
        std::string what = without_exception_id(error.what());
        const std::string overflow = "number overflow parsing ";
        if (what.rfind(overflow, 0) == 0) {
            what = "the number " + what.substr(overflow.size() + 1, what.size() - overflow.size() - 2) +
                   " is out of range (a number in JSON must be within about 1.8e308)";
        }
        auto loc = at.loc();
        std::string expected = loc == std::vector<std::string>{"create_date"}
                                   ? "an ISO 8601 UTC string such as \"2024-01-31T12:00:00Z\""
                                   : "the text, list or object the field expects";
        throw MigrationError(path.string() + ": " + field_path(loc) + ": " + what +
                             "; no field of a revision file takes a number: write " + expected);
    } catch (const json::exception& error) {
        throw MigrationError(path.string() + ": cannot read the JSON at " + field_path(at.loc()) + ": " +
                             without_exception_id(error.what()) + "; fix the file or remove it");
    }
}

}  // namespace

bool Revision::operator==(const Revision& other) const {
    return id == other.id && down_revisions == other.down_revisions && branch_labels == other.branch_labels &&
           depends_on == other.depends_on && message == other.message && create_date == other.create_date &&
           upgrade == other.upgrade && downgrade == other.downgrade && notes == other.notes &&
           lint_waivers == other.lint_waivers;
}

Revision parse_revision(std::string_view text, const std::filesystem::path& path) {
    json document = parse_document(text, path);
    detail::ErrorList errors;
    ObjectReader in(document, {}, errors);
    Revision revision;
    revision.id = in.required<std::string>("revision").value_or("");
    revision.down_revisions = id_list(in, "down_revision");
    revision.branch_labels = id_list(in, "branch_labels");
    revision.depends_on = id_list(in, "depends_on");
    revision.message = in.with_default<std::string>("message", "");
    revision.create_date = in.with_default<std::string>("create_date", "");
    revision.upgrade = operation_list(in, "upgrade");
    revision.downgrade = operation_list(in, "downgrade");
    revision.notes = in.with_default<std::vector<std::string>>("notes", {});
    revision.lint_waivers = lint_waivers(in, revision.upgrade.size());
    in.reject_unknown_fields();
    if (in.is_object() && !revision.id.empty() && !is_valid_id(revision.id)) {
        errors.add({"revision"}, detail::Problem{"a revision id is 1 to 32 letters, digits or underscores",
                                                 "value_error.revision", {}});
    }
    try {
        errors.throw_if_any();
    } catch (const ValidationError& error) {
        std::string message = path.string() + " is not a valid revision file:";
        for (const auto& field : error.errors()) message += "\n  " + field_path(field.loc) + ": " + field.msg;
        throw MigrationError(message);
    }
    revision.path = path;
    revision.checksum = revision_checksum(text);
    return revision;
}

Revision load_revision_file(const std::filesystem::path& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) throw MigrationError("cannot read the revision file " + path.string());
    std::ostringstream bytes;
    bytes << file.rdbuf();
    return parse_revision(bytes.str(), path);
}

std::string revision_file_text(const Revision& revision) {
    // nlohmann's ordered_json keeps the keys in the order a person reads them.
    nlohmann::ordered_json out;
    out["revision"] = revision.id;
    out["down_revision"] = id_list_json(revision.down_revisions);
    out["branch_labels"] = revision.branch_labels;
    out["depends_on"] = revision.depends_on;
    out["message"] = revision.message;
    out["create_date"] = revision.create_date;
    out["upgrade"] = operations_json(revision.upgrade);
    out["downgrade"] = operations_json(revision.downgrade);
    if (!revision.notes.empty()) out["notes"] = revision.notes;
    // Last, where a person adds it by hand to a file that has none.
    if (!revision.lint_waivers.empty()) {
        nlohmann::ordered_json waive = nlohmann::ordered_json::array();
        for (const auto& waiver : revision.lint_waivers) {
            waive.push_back({{"rule", waiver.rule}, {"operation", waiver.operation}, {"reason", waiver.reason}});
        }
        out["lint"] = {{"waive", waive}};
    }
    return out.dump(2) + "\n";
}

std::string revision_file_name(const Revision& revision) {
    std::string slug;
    for (char c : revision.message) {
        bool word = std::isalnum(static_cast<unsigned char>(c)) != 0;
        if (word) {
            slug += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        } else if (!slug.empty() && slug.back() != '_') {
            slug += '_';
        }
        if (slug.size() >= 40) break;
    }
    while (!slug.empty() && slug.back() == '_') slug.pop_back();
    return revision.id + (slug.empty() ? "" : "_" + slug) + ".json";
}

std::string new_revision_id() {
    std::random_device device;
    std::uniform_int_distribution<int> digit(0, 15);
    std::string id;
    for (int i = 0; i < 12; ++i) id += "0123456789abcdef"[digit(device)];
    return id;
}

std::string revision_timestamp_now() {
    return detail::iso_utc_now();
}

namespace {

// The top-level members of a JSON object, as byte offsets into its text (which is valid JSON:
// the parser accepted it), for revision_checksum().
struct Member {
    std::string_view key;   // as written, escapes and all
    std::size_t key_begin;  // the key's opening quote
    std::size_t value_end;  // one past its value
};

std::size_t skip_space(std::string_view text, std::size_t i) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) ++i;
    return i;
}

// From an opening quote to one past the closing one.
std::size_t skip_string(std::string_view text, std::size_t i) {
    for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\') ++i;
    }
    return i + 1;
}

std::size_t skip_value(std::string_view text, std::size_t i) {
    if (i >= text.size()) return i;
    if (text[i] == '"') return skip_string(text, i);
    if (text[i] != '{' && text[i] != '[') {
        while (i < text.size() && std::string_view(",}] \t\n\r").find(text[i]) == std::string_view::npos) ++i;
        return i;
    }
    int depth = 0;
    while (i < text.size()) {
        char c = text[i];
        if (c == '"') {
            i = skip_string(text, i);
            continue;
        }
        if (c == '{' || c == '[') ++depth;
        if ((c == '}' || c == ']') && --depth == 0) return i + 1;
        ++i;
    }
    return i;
}

std::vector<Member> top_level_members(std::string_view text) {
    std::vector<Member> members;
    std::size_t i = skip_space(text, 0);
    if (i >= text.size() || text[i] != '{') return members;
    for (i = skip_space(text, i + 1); i < text.size() && text[i] == '"'; i = skip_space(text, i)) {
        std::size_t key_end = skip_string(text, i);
        std::size_t value_end = skip_value(text, skip_space(text, skip_space(text, key_end) + 1));
        members.push_back({text.substr(i + 1, key_end - i - 2), i, value_end});
        i = skip_space(text, value_end);
        if (i < text.size() && text[i] == ',') ++i;
    }
    return members;
}

}  // namespace

std::string revision_checksum(std::string_view text) {
    auto members = top_level_members(text);
    std::string kept(text);
    // From the last member back, so that the offsets of those before stay good.
    for (std::size_t k = members.size(); k-- > 0;) {
        if (members[k].key != "lint") continue;
        std::size_t begin = k > 0 ? members[k - 1].value_end : members[k].key_begin;
        std::size_t end = k > 0 || k + 1 == members.size() ? members[k].value_end : members[k + 1].key_begin;
        kept.erase(begin, end - begin);
    }
    return sha256_hex(kept);
}

std::string sha256_hex(std::string_view bytes) {
    std::string hex;
    char buffer[3];
    for (unsigned char byte : detail::sha256_digest(bytes)) {
        std::snprintf(buffer, sizeof buffer, "%02x", byte);
        hex += buffer;
    }
    return hex;
}

}  // namespace pangeo_forge::migrate
