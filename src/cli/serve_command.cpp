#include "serve_command.h"

#include <iostream>
#include <memory>

#include "mat/core/error.h"
#include "mat/core/interrupt.h"
#include "mat/engine/local_engine.h"
#include "mat/engine/openai_server.h"
#include "serve_until_interrupted.h"

namespace mat::cli {
namespace {

struct ServeSettings {
  std::string weights;
  std::vector<std::string> loras;  // NAME=DIR
  std::string name;
  engine::ServerOptions server;
  engine::EngineOptions engine;
  bool merge = false;
};

std::string folder_name(const std::filesystem::path& dir) {
  const std::filesystem::path normal = dir.lexically_normal();
  return normal.filename().empty() ? normal.parent_path().filename().string()
                                   : normal.filename().string();
}

int serve(ServeSettings& s) {
  try {
    core::install_interrupt_handlers();
    auto engine = engine::LocalEngine::load(s.weights, s.engine);
    for (const std::string& lora : s.loras) {
      const std::size_t eq = lora.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == lora.size()) {
        std::cerr << "mat serve: --lora takes NAME=DIR (got '" << lora << "')\n";
        return 2;
      }
      engine->load_adapter(lora.substr(0, eq), lora.substr(eq + 1));
    }
    engine->set_merge_adapters(s.merge);
    s.server.model_name = s.name.empty() ? folder_name(s.weights) : s.name;
    engine::OpenAIServer server(*engine, s.server);
    const int port = server.bind();
    std::cerr << "mat serve: " << s.server.model_name << " on http://" << s.server.host << ":"
              << port << "/v1";
    for (const std::string& adapter : engine->adapters()) std::cerr << ", adapter " << adapter;
    std::cerr << " (batches of " << s.server.scheduler.max_batch << ", queue "
              << s.server.scheduler.max_queue << "); Ctrl-C stops" << std::endl;

    serve_until_interrupted([&server] { server.serve(); }, [&server] { server.stop(); });
    std::cerr << "mat serve: stopped\n";
    return 0;
  } catch (const core::Error& e) {
    std::cerr << "mat serve: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

void add_serve_command(CLI::App& app, int& exit_code) {
  auto s = std::make_shared<ServeSettings>();
  CLI::App* cmd = app.add_subcommand(
      "serve", "Serve the local Qwen2-VL engine over an OpenAI-compatible HTTP API");
  cmd->add_option("--weights", s->weights,
                  "A Hugging Face Qwen2-VL checkpoint folder (config.json, tokenizer.json, "
                  "*.safetensors)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--lora", s->loras,
                  "NAME=DIR: a PEFT LoRA adapter, chosen by requests whose model is NAME "
                  "(repeatable)");
  cmd->add_option("--name", s->name, "The base model's id (default: the weights folder's name)");
  cmd->add_option("--host", s->server.host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", s->server.port, "Port to listen on; 0 picks a free one")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--max-batch", s->server.scheduler.max_batch,
                  "Requests decoded together (with the same adapter)")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->add_option("--max-queue", s->server.scheduler.max_queue,
                  "Requests queued or running; more get 503 and Retry-After")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--max-tokens", s->server.default_max_tokens,
                  "max_tokens of requests that name none")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--merge-lora", s->merge,
                "Fold the requested adapter into the weights (faster per token, a merge per "
                "adapter switch)");
  cmd->add_option("--dtype", s->engine.dtype, "bf16, f32 or f16")
      ->capture_default_str()
      ->check(CLI::IsMember({"bf16", "f32", "f16"}));
  cmd->add_option("--device", s->engine.device, "cpu, cuda or cuda:N (CUDA needs a CUDA libtorch)")
      ->capture_default_str();
  cmd->add_option("--threads", s->engine.threads, "libtorch threads; 0 keeps its default")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->callback([s, &exit_code] { exit_code = serve(*s); });
}

}  // namespace mat::cli
