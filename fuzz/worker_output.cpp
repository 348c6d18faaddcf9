// What the worker reads of a command's output (src/worker/command.hpp, worker.hpp): its
// standard output split into lines at a cap, each line read as the runner's JSON protocol,
// and the bounded tail of its standard error that becomes a failure's trace. An input is
//
//   byte 0        the line cap, 0 to 255 bytes (64 KiB in the worker: small, so that it is reached)
//   byte 1        the tail's bound in lines, 1 to 8
//   byte 2        the tail's bound in bytes, 1 to 256
//   byte 3        the seed of the chunk sizes the stream arrives in (1 to 64 bytes each)
//   the rest      the stream, fed as both outputs
//
// Checked beyond "no crash": a line handed on is never longer than the cap, is the front of
// the line the stream holds, and says it was cut exactly when it was longer; every line,
// chunked or whole, is what the same bytes give in one piece; a line is read as the protocol
// says (a JSON object is progress, a "submitted" status names its job); the tail never
// exceeds its bounds after any chunk, is what the last lines of the whole stream give when
// those are UTF-8, and is always UTF-8, so that a trace goes into a report's JSON as it is.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "expect.hpp"
#include "worker/command.hpp"

namespace {

using namespace pangeo_forge;
using worker::OutputLine;
using worker::OutputTail;
using worker::parse_output_line;
using worker::detail::LineSplitter;

struct Line {
    std::string text;
    bool cut;
    bool operator==(const Line& other) const { return text == other.text && cut == other.cut; }
};

// The lines the stream holds, each capped, as a reader given everything at once sees them.
std::vector<Line> lines_of(std::string_view stream, std::size_t cap) {
    std::vector<Line> out;
    while (!stream.empty()) {
        auto end = stream.find('\n');
        auto line = stream.substr(0, end);
        out.push_back({std::string(line.substr(0, cap)), line.size() > cap});
        if (end == std::string_view::npos) break;
        stream.remove_prefix(end + 1);
    }
    return out;
}

// The tail of the whole stream: its last lines (the unfinished one included) that fit both
// bounds, '\n' between them; a last line alone beyond the byte bound keeps its end.
std::string tail_of(std::string_view stream, std::size_t max_lines, std::size_t max_bytes) {
    std::vector<std::string_view> lines;
    while (!stream.empty()) {
        auto end = stream.find('\n');
        lines.push_back(stream.substr(0, end));
        if (end == std::string_view::npos) break;
        stream.remove_prefix(end + 1);
    }
    if (lines.empty()) return "";
    std::string_view last = lines.back();
    if (last.size() >= max_bytes) return std::string(last.substr(last.size() - max_bytes));
    std::size_t first = lines.size() - 1;
    std::size_t bytes = last.size();
    while (first > 0 && lines.size() - first < max_lines && bytes + 1 + lines[first - 1].size() <= max_bytes) {
        bytes += 1 + lines[--first].size();
    }
    std::string out;
    for (std::size_t i = first; i < lines.size(); ++i) {
        if (i > first) out += '\n';
        out += lines[i];
    }
    return out;
}

std::size_t line_count(const std::string& text) {
    if (text.empty()) return 0;
    std::size_t count = 1;
    for (char c : text) count += c == '\n';
    return count;
}

// Whether `text` is UTF-8 as JSON takes it: dump() throws on anything else.
bool is_utf8(const std::string& text) {
    try {
        (void)nlohmann::json(text).dump();
        return true;
    } catch (const nlohmann::json::type_error&) {
        return false;
    }
}

void check_line(const std::string& line) {
    OutputLine read = parse_output_line(line);
    std::string_view text = line;
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    auto json = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
    const bool object = !json.is_discarded() && json.is_object();
    fuzz::require((read.kind == OutputLine::Kind::text) == !object, "a line is plain text exactly when it is no JSON object");
    if (read.kind == OutputLine::Kind::text) {
        fuzz::require(read.json.is_null() && !read.job_name && !read.job_id, "a text line carries nothing");
        return;
    }
    fuzz::require(read.json == json, "a JSON line keeps its object");
    const bool submitted = json.contains("status") && json["status"] == "submitted";
    fuzz::require((read.kind == OutputLine::Kind::submitted) == submitted, "a line is 'submitted' exactly by its status");
    if (!submitted) {
        fuzz::require(!read.job_name && !read.job_id, "only a submitted line names a job");
        return;
    }
    for (const auto& [key, value] : {std::pair{"job_name", &read.job_name}, std::pair{"job_id", &read.job_id}}) {
        auto found = json.find(key);
        if (found == json.end() || found->is_null()) {
            fuzz::require(!*value, "a job field the line leaves out is not invented");
        } else {
            fuzz::require(*value && **value == (found->is_string() ? found->get<std::string>() : found->dump()),
                          "a job field is its string, or the JSON of another value");
        }
    }
}

// The chunk sizes a stream arrives in, 1 to 64 bytes, from a seed.
struct Chunks {
    explicit Chunks(std::uint8_t seed) : state(seed * 2654435761u + 1) {}
    std::size_t next() {
        state = state * 1103515245u + 12345u;
        return 1 + (state >> 16) % 64;
    }
    std::uint32_t state;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 4) return 0;
    const std::size_t cap = data[0];
    const std::size_t max_lines = 1 + data[1] % 8;
    const std::size_t max_bytes = 1 + data[2];
    Chunks chunks(data[3]);
    const std::string_view stream(reinterpret_cast<const char*>(data + 4), size - 4);

    LineSplitter splitter(cap);
    OutputTail tail(max_lines, max_bytes);
    std::vector<Line> lines;
    auto each = [&](const std::string& line, bool cut) {
        fuzz::require(line.size() <= cap, "a line handed on is within the cap");
        lines.push_back({line, cut});
    };
    for (std::string_view rest = stream; !rest.empty();) {
        auto chunk = rest.substr(0, chunks.next());
        rest.remove_prefix(chunk.size());
        splitter.feed(chunk, each);
        tail.append(chunk);
        const std::string text = tail.text();
        fuzz::require(text.size() <= max_bytes, "the tail stays within its bytes");
        fuzz::require(line_count(text) <= max_lines, "the tail stays within its lines");
    }
    splitter.finish(each);
    fuzz::require(lines == lines_of(stream, cap), "chunked lines are the stream's lines, each cut at the cap");
    for (const auto& line : lines) check_line(line.text);
    // A whole input as one line, as the worker's 64 KiB cap lets most through.
    check_line(std::string(stream));

    const std::string text = tail.text();
    fuzz::require(tail.empty() == stream.empty(), "the tail is empty only for an empty stream");
    fuzz::require(is_utf8(text), "the tail is UTF-8, as a report's JSON takes it");
    const std::string expected = tail_of(stream, max_lines, max_bytes);
    if (is_utf8(expected)) fuzz::require(text == expected, "the tail is the stream's last lines within its bounds");
    return 0;
}
