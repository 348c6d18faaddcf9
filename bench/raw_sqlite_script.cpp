// The baseline of bench/upgrade_head.sh: a process that opens a SQLite file with the
// settings pangeo_forge uses (WAL, synchronous=NORMAL, foreign keys) and runs an SQL
// script with the raw C API, the script being pangeo_forge's own offline upgrade script:
// the same statements, without the engine around them.
//
//   raw_sqlite_script DATABASE_FILE SCRIPT_FILE

#include <sqlite3.h>

#include <fstream>
#include <iostream>
#include <sstream>

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: raw_sqlite_script DATABASE_FILE SCRIPT_FILE\n";
        return 2;
    }
    std::ifstream file(argv[2]);
    std::stringstream script;
    script << file.rdbuf();
    sqlite3* db = nullptr;
    char* error = nullptr;
    if (sqlite3_open(argv[1], &db) != SQLITE_OK ||
        sqlite3_exec(db, "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; "
                         "PRAGMA synchronous = NORMAL",
                     nullptr, nullptr, &error) != SQLITE_OK ||
        sqlite3_exec(db, script.str().c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
        std::cerr << "sqlite: " << (error ? error : sqlite3_errmsg(db)) << "\n";
        return 1;
    }
    sqlite3_close(db);
    return 0;
}
