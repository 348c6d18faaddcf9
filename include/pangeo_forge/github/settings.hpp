#pragma once
// The GitHub App's settings: who the app is (its id and private key), the secret GitHub
// signs its webhooks with, where GitHub's REST API is, and the command that lists a
// commit's recipes. Read from the environment (PANGEO_FORGE_GITHUB_*) or from a JSON file
// naming the same settings (PANGEO_FORGE_GITHUB_CONFIG_FILE), the environment winning.
//
// Secrets (the private key, the webhook secret) never appear in a message: errors name
// the setting and the file, not the value.
//
// Thread safety: plain values and free functions.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pangeo_forge::github {

inline constexpr const char* default_api_url = "https://api.github.com";
// pangeo-forge-runner's listing of a commit's recipes; {feedstock_subdir} is empty for a
// feedstock repository and "--feedstock-subdir=recipes/<dir>" for staged-recipes.
inline constexpr const char* default_expand_meta_command =
    "pangeo-forge-runner expand-meta --repo {repo} --ref {ref} --json {feedstock_subdir}";

// The names of the settings, as environment variables and as the keys of the file.
inline constexpr const char* app_id_variable = "PANGEO_FORGE_GITHUB_APP_ID";
inline constexpr const char* private_key_file_variable = "PANGEO_FORGE_GITHUB_PRIVATE_KEY_FILE";
inline constexpr const char* webhook_secret_variable = "PANGEO_FORGE_GITHUB_WEBHOOK_SECRET";
inline constexpr const char* api_url_variable = "PANGEO_FORGE_GITHUB_API_URL";
inline constexpr const char* expand_meta_variable = "PANGEO_FORGE_EXPAND_META_COMMAND";
inline constexpr const char* config_file_variable = "PANGEO_FORGE_GITHUB_CONFIG_FILE";

struct AppSettings {
    std::int64_t app_id = 0;
    std::string private_key_pem;  // the PEM text read from the private key file
    std::string webhook_secret;
    std::string api_url = default_api_url;  // without a trailing slash
    std::string expand_meta_command = default_expand_meta_command;
};

// What the environment (and the file it may name) gives. `settings` is set when the app id,
// the private key file and the webhook secret all are; otherwise `missing` lists the
// variables to set, in the order above. ConfigError for a value that is there but wrong (an
// app id that is not a positive number, a key file that cannot be read or holds no PEM
// private key, an API URL that is not http(s)://, a config file that is not a JSON object
// of strings): the message names the variable or the file's key and what to write.
struct SettingsReading {
    std::optional<AppSettings> settings;
    std::vector<std::string> missing;
};
SettingsReading read_settings();

// The 503 detail of /github/hooks/ for a server without the app: which variables to set.
std::string not_configured_detail(const std::vector<std::string>& missing);

}  // namespace pangeo_forge::github
