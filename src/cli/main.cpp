// Entry point of `swallow`: builds the CLI11 app from the registered subcommands, runs the one
// chosen, and turns swallow::Error into one line on stderr and exit code 1.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>

#include "cli/command.h"
#include "core/error.h"
#include "core/log.h"

namespace swallow::cli {
std::vector<Subcommand>& subcommands() {
  static std::vector<Subcommand> all;
  return all;
}
}  // namespace swallow::cli

int main(int argc, char** argv) {
  using namespace swallow;
  CLI::App app{"swallow: inference engine and OpenAI-compatible server for Llama 3.1 Swallow models"};
  app.set_version_flag("--version", std::string("swallow ") + SWALLOW_VERSION);
  app.require_subcommand(1);
  std::string log_level_name = "info";
  app.add_option("--log-level", log_level_name, "debug, info, warn, error or off")
      ->envname("SWALLOW_LOG")
      ->capture_default_str();

  auto& commands = cli::subcommands();
  std::sort(commands.begin(), commands.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  std::vector<std::pair<CLI::App*, cli::SubcommandRun>> runs;
  for (auto& command : commands) {
    CLI::App* sub = app.add_subcommand(command.name, command.description);
    runs.emplace_back(sub, command.setup(*sub));
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    set_log_level(parse_log_level(log_level_name));
    for (auto& [sub, run] : runs) {
      if (sub->parsed()) return run();
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 1;
}
