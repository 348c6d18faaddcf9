// The settings from the environment and the file it may name. Values never reach a
// message: the webhook secret could be any of them if a name were mixed up, so messages
// name the setting and where it came from (a file's path is not secret).

#include "pangeo_forge/github/settings.hpp"

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "pangeo_forge/error.hpp"
#include "support/text.hpp"

namespace pangeo_forge::github {
namespace {

// The settings a file may hold: every name but the file's own.
const std::vector<std::string>& file_keys() {
    static const std::vector<std::string> keys{app_id_variable, private_key_file_variable, webhook_secret_variable,
                                               api_url_variable, expand_meta_variable};
    return keys;
}

const std::vector<std::string>& required_variables() {
    static const std::vector<std::string> names{app_id_variable, private_key_file_variable, webhook_secret_variable};
    return names;
}

bool blank(const std::string& text) { return detail::trimmed(text).empty(); }

std::optional<std::string> file_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::stringstream text;
    text << in.rdbuf();
    if (in.bad()) return std::nullopt;
    return text.str();
}

// The file PANGEO_FORGE_GITHUB_CONFIG_FILE names, as name -> value.
std::map<std::string, std::string> config_file_values(const std::string& path) {
    const std::string named = std::string(config_file_variable) + " names " + path;
    const std::string advice = ": write a JSON object whose keys are among " + detail::joined(file_keys()) +
                               " and whose values are strings";
    auto text = file_text(path);
    if (!text) throw ConfigError(named + ", which cannot be read: give the path of a readable file, or unset it");
    nlohmann::json document;
    try {
        document = nlohmann::json::parse(*text);
    } catch (const nlohmann::json::parse_error& error) {
        // Not error.what(): it quotes the text around the error, which may be the secret.
        throw ConfigError(named + ", which is not JSON (at byte " + std::to_string(error.byte) + ")" + advice);
    }
    if (!document.is_object()) throw ConfigError(named + ", which is not a JSON object" + advice);
    std::map<std::string, std::string> values;
    for (const auto& [key, value] : document.items()) {
        bool known = false;
        for (const auto& name : file_keys()) known = known || key == name;
        if (!known) throw ConfigError(named + ", which has the unknown key \"" + key + "\"" + advice);
        if (!value.is_string()) throw ConfigError(named + ", whose " + key + " is not a string" + advice);
        values[key] = value.get<std::string>();
    }
    return values;
}

// Where each setting comes from: the environment, else the file. A blank value counts as
// unset, so that `VAR=` in a shell does not hide the file's value.
class Sources {
public:
    Sources() {
        const char* path = std::getenv(config_file_variable);
        if (path != nullptr && !blank(path)) {
            file_ = path;
            values_ = config_file_values(file_);
        }
    }

    std::optional<std::string> value(const std::string& name) const {
        if (const char* set = std::getenv(name.c_str()); set != nullptr && !blank(set)) return std::string(set);
        auto found = values_.find(name);
        if (found != values_.end() && !blank(found->second)) return found->second;
        return std::nullopt;
    }

    // How a message names the setting: the variable, or the file's key.
    std::string origin(const std::string& name) const {
        if (const char* set = std::getenv(name.c_str()); set != nullptr && !blank(set)) return name;
        return name + " (in " + file_ + ", named by " + config_file_variable + ")";
    }

private:
    std::string file_;
    std::map<std::string, std::string> values_;
};

std::int64_t app_id_of(const std::string& text, const std::string& origin) {
    const std::string digits = detail::trimmed(text);
    std::int64_t id = 0;
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
    if (error != std::errc() || end != digits.data() + digits.size() || id <= 0) {
        throw ConfigError(origin + " is not a positive number: write the App ID shown on the app's settings page "
                                   "on GitHub (digits only)");
    }
    return id;
}

std::string private_key_of(const std::string& path, const std::string& origin) {
    auto text = file_text(path);
    if (!text) {
        throw ConfigError(origin + " names " + path +
                          ", which cannot be read: give the path of the app's private key (.pem) file, readable by "
                          "the server");
    }
    const auto begin = text->find("-----BEGIN ");
    if (begin == std::string::npos || text->find("PRIVATE KEY-----", begin) == std::string::npos) {
        throw ConfigError(origin + " names " + path +
                          ", which holds no PEM private key (-----BEGIN RSA PRIVATE KEY-----): give the .pem file "
                          "GitHub generated for the app");
    }
    return *text;
}

std::string api_url_of(const std::string& text, const std::string& origin) {
    std::string url = detail::trimmed(text);
    const auto separator = url.find("://");
    const std::string scheme = separator == std::string::npos ? "" : detail::lowercase(url.substr(0, separator + 3));
    bool clean = true;
    for (unsigned char c : url) clean = clean && c > ' ' && c != 0x7f;
    if ((scheme != "http://" && scheme != "https://") || url.size() == scheme.size() || !clean) {
        throw ConfigError(origin + " is not an http:// or https:// URL: write GitHub's API address, " +
                          default_api_url + " (or unset it), or that of GitHub Enterprise Server");
    }
    while (url.size() > scheme.size() + 1 && url.back() == '/') url.pop_back();
    return url;
}

}  // namespace

SettingsReading read_settings() {
    const Sources sources;
    SettingsReading reading;
    AppSettings settings;
    // Every value that is there is checked, even when another is missing: a wrong value
    // is better told now than after the missing one is set.
    if (auto id = sources.value(app_id_variable)) {
        settings.app_id = app_id_of(*id, sources.origin(app_id_variable));
    } else {
        reading.missing.push_back(app_id_variable);
    }
    if (auto path = sources.value(private_key_file_variable)) {
        settings.private_key_pem = private_key_of(*path, sources.origin(private_key_file_variable));
    } else {
        reading.missing.push_back(private_key_file_variable);
    }
    if (auto secret = sources.value(webhook_secret_variable)) {
        settings.webhook_secret = *secret;
    } else {
        reading.missing.push_back(webhook_secret_variable);
    }
    if (auto url = sources.value(api_url_variable)) settings.api_url = api_url_of(*url, sources.origin(api_url_variable));
    if (auto command = sources.value(expand_meta_variable)) settings.expand_meta_command = *command;
    if (reading.missing.empty()) reading.settings = std::move(settings);
    return reading;
}

std::string not_configured_detail(const std::vector<std::string>& missing) {
    const auto& names = missing.empty() ? required_variables() : missing;
    std::string list = names.front();
    for (std::size_t i = 1; i < names.size(); ++i) list += (i + 1 == names.size() ? " and " : ", ") + names[i];
    return "The GitHub App is not configured on this server: set " + list +
           " in its environment (or in a JSON file named by " + config_file_variable + ") and restart it.";
}

}  // namespace pangeo_forge::github
