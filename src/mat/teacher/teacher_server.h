// `mat teacher serve`: the procedural teacher behind an OpenAI-compatible HTTP API, so that
// `mat synth` runs against it unchanged.
//
//   POST /v1/chat/completions   dispatched on the X-Mat-Stage header (stage_replies.h); JSON or
//                               SSE streaming, with usage (about four characters a token); the
//                               request's stop sequences cut the reply as a real server would
//   POST /v1/embeddings         text_embedding.h, dimension 256
//   GET  /v1/models, /health
//
// A request the teacher cannot answer gets 400 with OpenAI's error body saying why.
#pragma once

#include <memory>
#include <string>

#include "mat/teacher/stage_replies.h"

namespace mat::teacher {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: any free port (bind() says which)
  std::string model_name = "mat-teacher";
  int threads = 8;
};

class TeacherServer {
 public:
  TeacherServer(const ProceduralTeacher& teacher, ServerOptions options);
  ~TeacherServer();  // stops serving
  TeacherServer(const TeacherServer&) = delete;
  TeacherServer& operator=(const TeacherServer&) = delete;

  int bind();    // the port listened on (options.port, or a free one for 0); core::Error if none
  void serve();  // blocks, answering requests, until stop()
  void stop();   // from any thread, before or during serve()

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mat::teacher
