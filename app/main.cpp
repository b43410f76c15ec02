// tokenpipe: the command line of the FPGA LLM token pipeline.
#include <iostream>

#include "app/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"tokenpipe: a LLaMA-style token pipeline, golden model and RTL", "tokenpipe"};
  app.require_subcommand(1);
  tp::app::add_generate_command(app);
  tp::app::add_inspect_command(app);
  tp::app::add_eval_command(app);
  tp::app::add_quantize_command(app);
  tp::app::add_bench_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "tokenpipe: error: " << e.what() << " (see tokenpipe --help)\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "tokenpipe: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
