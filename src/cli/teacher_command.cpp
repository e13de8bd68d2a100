#include "teacher_command.h"

#include <functional>
#include <iostream>
#include <memory>

#include "mat/core/error.h"
#include "mat/core/interrupt.h"
#include "mat/teacher/gta_tasks.h"
#include "mat/teacher/landmarks.h"
#include "mat/teacher/pool.h"
#include "mat/teacher/teacher_server.h"
#include "serve_until_interrupted.h"

namespace mat::cli {
namespace {

struct TeacherSettings {
  teacher::ServerOptions server;
  std::uint64_t seed = 0;
  double wrong_answer_rate = 0;
  double bad_file_rate = 0;
  std::string phrasings = "train";
  std::string out;
  int count = 50;
};

// Runs `body`, turning core::Error into the command's message and exit code 1.
int guarded(const char* command, const std::function<int()>& body) {
  try {
    return body();
  } catch (const core::Error& e) {
    std::cerr << "mat teacher " << command << ": " << e.what() << "\n";
    return 1;
  }
}

int serve(const TeacherSettings& s) {
  core::install_interrupt_handlers();
  const teacher::ProceduralTeacher procedural({.seed = s.seed,
                                               .wrong_answer_rate = s.wrong_answer_rate,
                                               .bad_file_rate = s.bad_file_rate,
                                               .phrasings = teacher::parse_phrasings(s.phrasings)});
  teacher::TeacherServer server(procedural, s.server);
  const int port = server.bind();
  // One line, once ready: scripts wait for it and read the address from it.
  std::cout << "mat teacher: listening on http://" << s.server.host << ":" << port << "/v1"
            << std::endl;
  serve_until_interrupted([&server] { server.serve(); }, [&server] { server.stop(); });
  return 0;
}

void add_common(CLI::App* cmd, TeacherSettings& s) {
  cmd->add_option("--seed", s.seed,
                  "The seed every task, image and fault is drawn from (serve with the seed the "
                  "pool was written with)")
      ->capture_default_str();
}

}  // namespace

void add_teacher_command(CLI::App& app, int& exit_code) {
  auto s = std::make_shared<TeacherSettings>();
  CLI::App* teacher = app.add_subcommand(
      "teacher",
      "The offline procedural teacher: a stand-in LLM for `mat synth`, its image pool "
      "and held-out tasks");
  teacher->require_subcommand(1);

  CLI::App* serve_cmd = teacher->add_subcommand(
      "serve", "Answer `mat synth`'s stages (X-Mat-Stage) over an OpenAI-compatible HTTP API");
  add_common(serve_cmd, *s);
  serve_cmd->add_option("--host", s->server.host, "Address to listen on")->capture_default_str();
  serve_cmd->add_option("--port", s->server.port, "Port to listen on; 0 picks a free one")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  serve_cmd
      ->add_option("--wrong-answer-rate", s->wrong_answer_rate,
                   "Share of tasks whose trajectory ends with a wrong answer")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  serve_cmd
      ->add_option("--bad-file-rate", s->bad_file_rate,
                   "Share of tasks whose documents are written inconsistent with the query")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  serve_cmd->add_option("--phrasings", s->phrasings, "Phrasings of the queries drawn")
      ->capture_default_str()
      ->check(CLI::IsMember({"train", "heldout", "all"}));
  serve_cmd->callback([s, &exit_code] { exit_code = guarded("serve", [&] { return serve(*s); }); });

  CLI::App* pool_cmd = teacher->add_subcommand(
      "pool", "Write the image pool for `mat synth init --images POOL/` (with captions.jsonl)");
  add_common(pool_cmd, *s);
  pool_cmd->add_option("--out", s->out, "The pool's folder")->required();
  pool_cmd->callback([s, &exit_code] {
    exit_code = guarded("pool", [&] {
      const int images = teacher::write_pool(s->out, s->seed);
      std::cout << "mat teacher pool: " << images << " images and captions.jsonl in " << s->out
                << "\n";
      return 0;
    });
  });

  CLI::App* corpus_cmd = teacher->add_subcommand(
      "corpus",
      "Write the documents web_search finds in the teacher's tasks (the same for every seed); "
      "index them with `mat index DIR --out DB` and set MAT_SEARCH_DB=DB");
  corpus_cmd->add_option("--out", s->out, "The documents' folder")->required();
  corpus_cmd->callback([s, &exit_code] {
    exit_code = guarded("corpus", [&] {
      const int documents = teacher::write_landmark_documents(s->out);
      std::cout << "mat teacher corpus: " << documents << " documents in " << s->out
                << "; index them with: mat index " << s->out << " --out CORPUS.db\n";
      return 0;
    });
  });

  CLI::App* tasks_cmd = teacher->add_subcommand(
      "tasks", "Write evaluation tasks in GTA's format (dataset.json and files/) for `mat eval`");
  add_common(tasks_cmd, *s);
  tasks_cmd->add_option("--out", s->out, "The dataset's folder")->required();
  tasks_cmd->add_option("--count", s->count, "How many tasks")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  tasks_cmd->add_option("--phrasings", s->phrasings, "Phrasings of the tasks' queries")
      ->capture_default_str()
      ->check(CLI::IsMember({"train", "heldout", "all"}));
  tasks_cmd->callback([s, &exit_code] {
    exit_code = guarded("tasks", [&] {
      const auto tasks = teacher::write_gta_tasks(s->out, s->seed, s->count,
                                                  teacher::parse_phrasings(s->phrasings));
      std::cout << "mat teacher tasks: " << tasks.size() << " tasks in " << s->out
                << "/dataset.json\n";
      return 0;
    });
  });
}

}  // namespace mat::cli
