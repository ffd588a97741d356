// Tokenizes texts with llama.cpp's own library, for make_vocab_family_cases.py (not built by the tests).
//
//     llamacpp_tokenize VOCAB.gguf INPUT ADD_SPECIAL PARSE_SPECIAL
//
// INPUT holds texts in llama.cpp's test-tokenizer-0 format (each followed by a line
// `__ggml_vocab_test__`); one line of space-separated ids per text is written to stdout. The
// vocabulary is loaded without weights (vocab_only), as test-tokenizer-0 loads it.
#include "llama.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

int main(int argc, char ** argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s VOCAB.gguf INPUT ADD_SPECIAL PARSE_SPECIAL\n", argv[0]);
        return 2;
    }
    llama_backend_init();
    llama_model_params params = llama_model_default_params();
    params.vocab_only = true;
    llama_model * model = llama_model_load_from_file(argv[1], params);
    if (model == nullptr) {
        fprintf(stderr, "cannot load %s\n", argv[1]);
        return 1;
    }
    const llama_vocab * vocab = llama_model_get_vocab(model);
    const bool add_special = atoi(argv[3]) != 0;
    const bool parse_special = atoi(argv[4]) != 0;

    std::ifstream input(argv[2], std::ios::binary);
    std::stringstream buffer;
    buffer << input.rdbuf();
    const std::string raw = buffer.str();
    const std::string separator = "\n__ggml_vocab_test__\n";

    std::vector<llama_token> tokens;
    size_t position = 0;
    while (position < raw.size()) {
        size_t next = raw.find(separator, position);
        if (next == std::string::npos) {
            next = raw.size();
        }
        const std::string text = raw.substr(position, next - position);
        tokens.resize(text.size() * 2 + 16);
        int count = llama_tokenize(vocab, text.data(), (int) text.size(), tokens.data(), (int) tokens.size(), add_special, parse_special);
        if (count < 0) {
            tokens.resize(-count);
            count = llama_tokenize(vocab, text.data(), (int) text.size(), tokens.data(), (int) tokens.size(), add_special, parse_special);
        }
        for (int i = 0; i < count; i++) {
            printf(i == 0 ? "%d" : " %d", tokens[i]);
        }
        printf("\n");
        position = next + separator.size();
    }
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
