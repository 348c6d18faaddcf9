#pragma once
// The operator's command line: `pangeo-forge schema|db|api|serve ...`. The program and
// `python -m pangeo_forge` both hand their arguments here, so they take the same verbs.

namespace pangeo_forge::cli {

// Parses argv (argv[0] is the program's name), runs the verb, prints its output, and
// returns the exit status: 0 on success, 1 when the verb failed (the error is printed
// on stderr), CLI11's status for a malformed command line.
int run(int argc, const char* const* argv);

}  // namespace pangeo_forge::cli
