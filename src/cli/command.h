// Subcommand registry of the `swallow` executable. Each src/cli/cmd_*.cpp registers itself with
// a static SubcommandRegistration: its setup function adds options to the CLI11 subcommand and
// returns the function that runs it (returning the process exit code). Setup runs on the main
// thread before parsing; nothing here is used after main() returns.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace swallow::cli {

using SubcommandRun = std::function<int()>;
using SubcommandSetup = std::function<SubcommandRun(CLI::App& sub)>;

struct Subcommand {
  std::string name;
  std::string description;
  SubcommandSetup setup;
};

// All registered subcommands, sorted by name when main() reads them.
std::vector<Subcommand>& subcommands();

struct SubcommandRegistration {
  SubcommandRegistration(std::string name, std::string description, SubcommandSetup setup) {
    subcommands().push_back({std::move(name), std::move(description), std::move(setup)});
  }
};

}  // namespace swallow::cli
