// visit_page against a local HTTP server that the test runs: pages, paging, the address fence
// (loopback refused unless allowed, redirects re-checked hop by hop), and the failures a model
// meets on the web (404, images, huge bodies, other schemes).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

#include "mat/core/temp_dir.h"
#include "mat/tools/builtin_tools.h"
#include "mat/tools/ip_ranges.h"
#include "mat/tools/page_fetch.h"
#include "mat/tools/registry.h"

namespace mat::tools {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr size_t kHuge = size_t{6} << 20;       // over the 5 MiB cap
constexpr size_t kEndless = size_t{256} << 20;  // more than socket buffers can hold

// 400 numbered lines of 50 characters: 20,000 characters, three pages of at most 8,000.
std::string long_text() {
  std::string text;
  for (int i = 1; i <= 400; ++i) {
    char line[64];
    std::snprintf(line, sizeof line, "line %04d: the quick brown fox jumps over the dog\n", i);
    text += line;
  }
  return text;
}

// A web server on 127.0.0.1 with the pages the tests visit; counts the requests per path.
class TestSite {
 public:
  TestSite() {
    server_.set_keep_alive_max_count(1);  // an idle kept-alive connection would delay stop()
    server_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response&) {
      const std::lock_guard lock(mutex_);
      ++hits_[req.path];
      return httplib::Server::HandlerResponse::Unhandled;
    });
    server_.Get("/article", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(
          "<html><head><title>Etna</title><script>var hidden = 1;</script></head><body>"
          "<h1>Mount Etna</h1><p>Etna erupted in <b>February 2021</b>.</p></body></html>",
          "text/html; charset=utf-8");
    });
    server_.Get("/long", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(long_text(), "text/plain");
    });
    server_.Get("/data.json", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"volcano": "Etna", "height_m": 3357})", "application/json");
    });
    server_.Get("/paper.pdf", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("this is no pdf", "application/pdf");
    });
    server_.Get("/photo", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string("\x89PNG\r\n\x1a\n", 8) + std::string(100, 'x'), "image/png");
    });
    server_.Get("/huge", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(kHuge, 'a'), "text/plain");  // with a Content-Length
    });
    server_.Get("/huge-stream", [this](const httplib::Request&, httplib::Response& res) {
      // Chunked, so that the size is only known while it arrives.
      res.set_chunked_content_provider(
          "text/plain", [this](size_t offset, httplib::DataSink& sink) {
            const std::string piece(64 << 10, 'b');
            if (offset >= kEndless || !sink.write(piece.data(), piece.size())) {
              sink.done();
              return true;
            }
            streamed_ = offset + piece.size();
            return true;
          });
    });
    server_.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      res.set_content("late", "text/plain");
    });
    server_.Get("/to-article", [](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("/article");
    });
    server_.Get("/to-metadata", [](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("http://169.254.169.254/latest/meta-data/");
    });
    server_.Get("/to-file", [](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("file:///etc/passwd");
    });
    server_.Get("/loop",
                [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/loop"); });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~TestSite() {
    server_.stop();
    thread_.join();
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int port() const { return port_; }
  int hits(const std::string& path) {
    const std::lock_guard lock(mutex_);
    return hits_[path];
  }
  size_t streamed() const { return streamed_; }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mutex_;
  std::map<std::string, int> hits_;
  std::atomic<size_t> streamed_ = 0;
};

class VisitPage : public ::testing::Test {
 protected:
  VisitPage() { registry_.add(make_visit_page_tool()); }
  void SetUp() override { ::setenv("MAT_VISIT_ALLOW_PRIVATE", "1", 1); }
  void TearDown() override { ::unsetenv("MAT_VISIT_ALLOW_PRIVATE"); }

  std::string visit(const std::string& url, int page = 1) {
    return registry_.call("visit_page", {{"url", url}, {"page", page}}, context_);
  }
  std::string error_of(const std::string& url, int page = 1) {
    try {
      visit(url, page);
    } catch (const ToolError& e) {
      return e.what();
    }
    return "";
  }

  TestSite site_;
  ToolRegistry registry_;
  core::TempDir dir_;
  ToolContext context_{dir_.path()};
};

TEST_F(VisitPage, IsABuiltinTool) {
  EXPECT_NE(builtin_registry().find("visit_page"), nullptr);
}

TEST_F(VisitPage, AnHtmlPageBecomesReadableMarkdown) {
  const std::string text = visit(site_.url("/article"));
  EXPECT_THAT(text, HasSubstr("Address: " + site_.url("/article") + " · page 1 of 1\n"));
  EXPECT_THAT(text, HasSubstr("# Mount Etna"));
  EXPECT_THAT(text, HasSubstr("Etna erupted in February 2021."));
  EXPECT_THAT(text, Not(HasSubstr("hidden")));  // script dropped
  EXPECT_THAT(text, Not(HasSubstr("next page")));
}

TEST_F(VisitPage, JsonIsShownAsWritten) {
  EXPECT_THAT(visit(site_.url("/data.json")),
              HasSubstr(R"({"volcano": "Etna", "height_m": 3357})"));
}

TEST_F(VisitPage, ALongPageComesInPagesFetchedOnce) {
  std::string all;
  for (int page = 1; page <= 3; ++page) {
    const std::string text = visit(site_.url("/long"), page);
    const std::string header =
        "Address: " + site_.url("/long") + " · page " + std::to_string(page) + " of 3\n\n";
    ASSERT_TRUE(text.starts_with(header)) << text.substr(0, 200);
    std::string body = text.substr(header.size());
    const std::string next = "\n[… more on the next page: visit_page(url=\"" + site_.url("/long") +
                             "\", page=" + std::to_string(page + 1) + ")]\n";
    if (page < 3) {
      ASSERT_TRUE(body.ends_with(next)) << body.substr(body.size() - 200);
      body.resize(body.size() - next.size());
    }
    EXPECT_LE(body.size(), 8'000u);
    EXPECT_TRUE(body.ends_with("dog\n")) << "page " << page << " ends inside a line";
    all += body;
  }
  EXPECT_EQ(all, long_text());  // nothing lost or repeated at the page breaks
  EXPECT_EQ(site_.hits("/long"), 1);
  EXPECT_THAT(error_of(site_.url("/long"), 4),
              AllOf(HasSubstr("has 3 pages"), HasSubstr("from 1 to 3")));
  EXPECT_THAT(error_of(site_.url("/long"), 0), HasSubstr("counts from 1"));
}

TEST_F(VisitPage, TheCacheKeepsTheMostRecentlyUsedAddresses) {
  const auto article = [this](int n) { return site_.url("/article?n=" + std::to_string(n)); };
  visit(article(0));
  for (int n = 1; n <= 31; ++n) visit(article(n));
  visit(article(0));  // still cached, and now the most recently used
  EXPECT_EQ(site_.hits("/article"), 32);
  visit(article(32));  // pushes out the least recently used: n = 1
  visit(article(0));
  EXPECT_EQ(site_.hits("/article"), 33);
  visit(article(1));
  EXPECT_EQ(site_.hits("/article"), 34);
}

TEST_F(VisitPage, LoopbackIsRefusedUnlessAllowedEvenByName) {
  ::unsetenv("MAT_VISIT_ALLOW_PRIVATE");
  EXPECT_THAT(error_of(site_.url("/article")),
              AllOf(HasSubstr("refused to connect"), HasSubstr("127.0.0.1, a loopback address"),
                    HasSubstr("MAT_VISIT_ALLOW_PRIVATE")));
  // The check is on the address connected to, not on the name in the address.
  const std::string by_name = "http://localhost:" + std::to_string(site_.port()) + "/article";
  EXPECT_THAT(error_of(by_name), HasSubstr("loopback address"));
  EXPECT_EQ(site_.hits("/article"), 0);
  ::setenv("MAT_VISIT_ALLOW_PRIVATE", "127.0.0.1", 1);  // this address only
  EXPECT_THAT(visit(site_.url("/article")), HasSubstr("Mount Etna"));
}

TEST_F(VisitPage, EveryRedirectHopIsCheckedAgain) {
  ::setenv("MAT_VISIT_ALLOW_PRIVATE", "127.0.0.1", 1);
  EXPECT_THAT(visit(site_.url("/to-article")),
              HasSubstr("Address: " + site_.url("/article") + " · page 1 of 1"));
  EXPECT_THAT(error_of(site_.url("/to-metadata")),
              AllOf(HasSubstr("169.254.169.254, a link-local address"),
                    HasSubstr("not on the public internet")));
  EXPECT_THAT(error_of(site_.url("/to-file")), AllOf(HasSubstr("redirects to 'file:///etc/passwd'"),
                                                     HasSubstr("only http and https")));
  EXPECT_THAT(error_of(site_.url("/loop")), HasSubstr("redirects more than 5 times"));
  EXPECT_EQ(site_.hits("/loop"), 6);
}

TEST_F(VisitPage, OtherSchemesAndBadAddressesAreRefused) {
  EXPECT_THAT(error_of("file:///etc/passwd"),
              AllOf(HasSubstr("uses file:"), HasSubstr("inspect_file_as_text")));
  EXPECT_THAT(error_of("ftp://example.com/x"), HasSubstr("only http and https"));
  EXPECT_THAT(error_of("http://exa mple.com/"), HasSubstr("not a valid web address"));
  EXPECT_THAT(error_of(" "), HasSubstr("the url is empty"));
}

TEST_F(VisitPage, AnOversizedBodyIsCutWithAClearError) {
  for (const std::string path : {"/huge", "/huge-stream"}) {
    EXPECT_THAT(error_of(site_.url(path)),
                AllOf(HasSubstr("larger than 5 MiB"), HasSubstr("transfer was stopped")))
        << path;
  }
  EXPECT_LT(site_.streamed(), kEndless);  // the stream was stopped, not read to its end
}

TEST_F(VisitPage, ContentItCannotReadAndHttpErrorsAreExplained) {
  EXPECT_THAT(error_of(site_.url("/photo")),
              AllOf(HasSubstr("is an image (image/png)"), HasSubstr("HTML, plain text")));
  EXPECT_THAT(error_of(site_.url("/paper.pdf")),
              AllOf(HasSubstr("(application/pdf)"), HasSubstr("does not start with %PDF-")));
  EXPECT_THAT(error_of(site_.url("/missing")),
              AllOf(HasSubstr("HTTP status 404"), HasSubstr("does not exist")));
}

TEST_F(VisitPage, ASlowServerIsCutOffAtTheTimeout) {
  FetchOptions options;
  options.allow_all_private = true;
  options.timeout = std::chrono::milliseconds(300);
  try {
    fetch_page(site_.url("/slow"), options);
    ADD_FAILURE() << "the fetch did not time out";
  } catch (const ToolError& e) {
    EXPECT_THAT(e.what(), HasSubstr("timed out"));
  }
}

TEST(NonPublicRange, NamesEveryRangeAPageMustNotReach) {
  const std::map<std::string, std::string> refused = {
      {"127.0.0.1", "loopback"},
      {"10.1.2.3", "private"},
      {"172.16.0.1", "private"},
      {"172.31.255.255", "private"},
      {"192.168.1.1", "private"},
      {"169.254.169.254", "link-local"},
      {"100.64.0.1", "carrier-grade"},
      {"0.0.0.0", "this network"},
      {"224.0.0.1", "multicast"},
      {"255.255.255.255", "broadcast"},
      {"::1", "loopback"},
      {"::", "unspecified"},
      {"fd00::1", "unique-local"},
      {"fe80::1", "link-local"},
      {"ff02::1", "multicast"},
      {"::ffff:127.0.0.1", "loopback"},
      {"::ffff:169.254.169.254", "link-local"},
      {"64:ff9b::a00:1", "private"},
      {"not-an-ip", "not a numeric IP address"},
  };
  for (const auto& [address, what] : refused) {
    EXPECT_THAT(non_public_range(address).value_or("public"), HasSubstr(what)) << address;
  }
  for (const std::string address : {"8.8.8.8", "172.32.0.1", "100.128.0.1", "1.1.1.1",
                                    "2001:4860:4860::8888", "::ffff:8.8.8.8"}) {
    EXPECT_EQ(non_public_range(address), std::nullopt) << address;
  }
}

}  // namespace
}  // namespace mat::tools
