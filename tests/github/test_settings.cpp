#define BOOST_TEST_MODULE settings
#include <boost/test/unit_test.hpp>

#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "pangeo_forge/error.hpp"
#include "pangeo_forge/github/settings.hpp"

using namespace pangeo_forge;
using namespace pangeo_forge::github;

namespace {

const std::string secret = "s3cr3t-w3bh00k-value";
const std::string pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n"
                        "-----END RSA PRIVATE KEY-----\n";

// Every setting unset on entry and on exit, and a folder for the files the tests write.
struct Environment {
    std::filesystem::path folder;

    Environment() {
        clear();
        std::string pattern = (std::filesystem::temp_directory_path() / "pf-settings-XXXXXX").string();
        BOOST_REQUIRE(mkdtemp(pattern.data()) != nullptr);
        folder = pattern;
    }
    ~Environment() {
        clear();
        std::error_code ignored;
        std::filesystem::remove_all(folder, ignored);
    }
    static void clear() {
        for (const char* name : {app_id_variable, private_key_file_variable, webhook_secret_variable, api_url_variable,
                                 expand_meta_variable, config_file_variable}) {
            unsetenv(name);
        }
    }
    static void set(const char* name, const std::string& value) { setenv(name, value.c_str(), 1); }

    std::string write(const std::string& name, const std::string& text) const {
        auto path = (folder / name).string();
        std::ofstream(path, std::ios::binary) << text;
        return path;
    }
    // A complete configuration in the environment.
    void configure() const {
        set(app_id_variable, "12345");
        set(private_key_file_variable, write("key.pem", pem));
        set(webhook_secret_variable, secret);
    }
};

// read_settings() throws a ConfigError whose message names `name` and not the secret.
void check_refused(const std::string& name, const std::string& also = "") {
    try {
        read_settings();
        BOOST_FAIL("read_settings() accepted a wrong " << name);
    } catch (const ConfigError& error) {
        const std::string message = error.what();
        BOOST_TEST(message.find(name) != std::string::npos, message);
        BOOST_TEST(message.find(secret) == std::string::npos, message);
        BOOST_TEST(message.find("MIIBOgIBAAJBAKj34") == std::string::npos, message);
        if (!also.empty()) BOOST_TEST(message.find(also) != std::string::npos, message);
    }
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(settings, Environment)

BOOST_AUTO_TEST_CASE(the_environment_alone_configures_the_app_with_the_defaults) {
    configure();
    auto reading = read_settings();
    BOOST_REQUIRE(reading.settings.has_value());
    BOOST_TEST(reading.missing.empty());
    BOOST_TEST(reading.settings->app_id == 12345);
    BOOST_TEST(reading.settings->private_key_pem == pem);
    BOOST_TEST(reading.settings->webhook_secret == secret);
    BOOST_TEST(reading.settings->api_url == default_api_url);
    BOOST_TEST(reading.settings->expand_meta_command == default_expand_meta_command);
}

BOOST_AUTO_TEST_CASE(the_api_url_loses_its_trailing_slashes_and_the_command_is_taken_as_given) {
    configure();
    set(api_url_variable, "http://127.0.0.1:8123/api/v3//");
    set(expand_meta_variable, "stand-in --repo {repo} --ref {ref}");
    auto reading = read_settings();
    BOOST_REQUIRE(reading.settings.has_value());
    BOOST_TEST(reading.settings->api_url == "http://127.0.0.1:8123/api/v3");
    BOOST_TEST(reading.settings->expand_meta_command == "stand-in --repo {repo} --ref {ref}");
}

BOOST_AUTO_TEST_CASE(nothing_set_lists_the_three_required_variables_in_order) {
    auto reading = read_settings();
    BOOST_TEST(!reading.settings.has_value());
    BOOST_TEST((reading.missing ==
                std::vector<std::string>{app_id_variable, private_key_file_variable, webhook_secret_variable}));
}

BOOST_AUTO_TEST_CASE(a_blank_variable_counts_as_missing) {
    configure();
    set(webhook_secret_variable, "  ");
    auto reading = read_settings();
    BOOST_TEST(!reading.settings.has_value());
    BOOST_TEST((reading.missing == std::vector<std::string>{webhook_secret_variable}));
}

BOOST_AUTO_TEST_CASE(the_file_configures_the_app_and_the_environment_wins_over_it) {
    const std::string key = write("key.pem", pem);
    set(config_file_variable, write("github.json", nlohmann::json{{app_id_variable, "777"},
                                                                  {private_key_file_variable, key},
                                                                  {webhook_secret_variable, "from-the-file"},
                                                                  {api_url_variable, "https://github.example.org/api/v3"}}
                                                       .dump()));
    auto reading = read_settings();
    BOOST_REQUIRE(reading.settings.has_value());
    BOOST_TEST(reading.settings->app_id == 777);
    BOOST_TEST(reading.settings->webhook_secret == "from-the-file");
    BOOST_TEST(reading.settings->api_url == "https://github.example.org/api/v3");

    set(app_id_variable, "888");
    set(webhook_secret_variable, secret);
    reading = read_settings();
    BOOST_REQUIRE(reading.settings.has_value());
    BOOST_TEST(reading.settings->app_id == 888);
    BOOST_TEST(reading.settings->webhook_secret == secret);
    BOOST_TEST(reading.settings->private_key_pem == pem);
}

BOOST_AUTO_TEST_CASE(a_file_and_the_environment_together_say_what_is_still_missing) {
    set(config_file_variable, write("github.json", nlohmann::json{{app_id_variable, "777"}}.dump()));
    auto reading = read_settings();
    BOOST_TEST(!reading.settings.has_value());
    BOOST_TEST((reading.missing == std::vector<std::string>{private_key_file_variable, webhook_secret_variable}));
}

BOOST_AUTO_TEST_CASE(an_app_id_that_is_not_a_positive_number_is_refused) {
    configure();
    for (const char* wrong : {"abc", "0", "-3", "12x", "1.5", "99999999999999999999"}) {
        set(app_id_variable, wrong);
        check_refused(app_id_variable, "positive number");
    }
}

BOOST_AUTO_TEST_CASE(a_private_key_file_that_cannot_be_read_or_holds_no_key_is_refused) {
    configure();
    set(private_key_file_variable, (folder / "absent.pem").string());
    check_refused(private_key_file_variable, "cannot be read");
    set(private_key_file_variable, write("public.pem", "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n"));
    check_refused(private_key_file_variable, "no PEM private key");
    set(private_key_file_variable, write("empty.pem", ""));
    check_refused(private_key_file_variable, "no PEM private key");
}

BOOST_AUTO_TEST_CASE(an_api_url_that_is_not_http_is_refused) {
    configure();
    for (const char* wrong : {"api.github.com", "ftp://api.github.com", "https://", "https://api github.com"}) {
        set(api_url_variable, wrong);
        check_refused(api_url_variable, "http://");
    }
}

BOOST_AUTO_TEST_CASE(a_bad_value_in_the_file_is_named_with_the_file) {
    const std::string file = write("github.json", nlohmann::json{{app_id_variable, "seven"},
                                                                 {webhook_secret_variable, secret}}.dump());
    set(config_file_variable, file);
    check_refused(app_id_variable, file);
}

BOOST_AUTO_TEST_CASE(a_config_file_that_is_not_an_object_of_known_strings_is_refused) {
    set(config_file_variable, (folder / "absent.json").string());
    check_refused(config_file_variable, "cannot be read");
    // A parse error must not quote the text around it, which holds the secret here.
    set(config_file_variable, write("broken.json", "{\"" + std::string(webhook_secret_variable) + "\": \"" + secret));
    check_refused(config_file_variable, "not JSON");
    set(config_file_variable, write("list.json", "[\"" + secret + "\"]"));
    check_refused(config_file_variable, "not a JSON object");
    set(config_file_variable, write("number.json", nlohmann::json{{app_id_variable, 12345}}.dump()));
    check_refused(config_file_variable, app_id_variable);
    set(config_file_variable, write("typo.json", nlohmann::json{{"PANGEO_FORGE_GITHUB_SECRET", secret}}.dump()));
    check_refused(config_file_variable, "PANGEO_FORGE_GITHUB_SECRET");
}

BOOST_AUTO_TEST_CASE(the_not_configured_detail_names_what_to_set) {
    const std::string all = not_configured_detail({});
    for (const char* name : {app_id_variable, private_key_file_variable, webhook_secret_variable, config_file_variable}) {
        BOOST_TEST(all.find(name) != std::string::npos, all);
    }
    const std::string one = not_configured_detail({webhook_secret_variable});
    BOOST_TEST(one.find(webhook_secret_variable) != std::string::npos, one);
    BOOST_TEST(one.find(app_id_variable) == std::string::npos, one);
}

BOOST_AUTO_TEST_SUITE_END()
