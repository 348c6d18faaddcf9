#pragma once
// The operator's command line: `pangeo-forge schema|db|api|serve ...`. The program and
// `python -m pangeo_forge` both hand their arguments here, so they take the same verbs.

namespace pangeo_forge::cli {

// Parses argv (argv[0] is the program's name), runs the verb, prints its output, and
// returns the exit status (the error, if any, printed on stderr): 0 on success (also
// "nothing to do"), 1 when the verb failed (for `db check`: the database drifted), 2 for a
// malformed command line, option value or URL (CLI11's own statuses included), 3 when the
// database could not be reached or opened or a file could not be read.
int run(int argc, const char* const* argv);

}  // namespace pangeo_forge::cli
