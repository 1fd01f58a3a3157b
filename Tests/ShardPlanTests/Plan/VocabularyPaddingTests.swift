import Testing
@testable import ShardPlan

/// QA: GPT-3's unpadded vocabulary of 50,257 divides over no tensor-parallel size, so Megatron's layout kept its
/// embedding whole on every rank (1.24 GB more weights, 11 GB more state on the first and last pipeline ranks of
/// GPT-3 175B) without a word, and a note blamed Megatron; frameworks pad it. `plan` and `score` now say so and how
/// to build the padded graph (`shardplan models ID --pad-vocab M`); the note is the library's, so that a program
/// planning with it can print it too.
@Suite("the note on a vocabulary tensor-parallel ranks cannot split")
struct VocabularyPaddingTests {
    @Test("the widest power-of-two split of a vocabulary: none of 50,257, 2 of BERT's 30,522, 8 of Llama 3's 128,256")
    func widestSplit() {
        #expect(VocabularyPadding.widestSplit(of: 50_257, upTo: 8) == 1)
        #expect(VocabularyPadding.widestSplit(of: 30_522, upTo: 8) == 2)
        #expect(VocabularyPadding.widestSplit(of: 128_256, upTo: 8) == 8)
        #expect(VocabularyPadding.widestSplit(of: 128_256, upTo: 4) == 4)
    }

    @Test("a search on a node says where the vocabulary does not split, with Megatron-LM's padded size and the models command")
    func searchNote() throws {
        let node = try Cluster.preset(named: "dgx-a100-80g")
        let gpt = try ModelCatalog.model(id: "gpt3-125m")!.build()
        let note = try #require(VocabularyPadding.searchNote(graph: gpt, cluster: node))
        #expect(note.contains("vocabulary of 50257 cannot be split by any tensor-parallel size"), "\(note)")
        #expect(note.contains("pads it to 51200 at tp = 8"), "\(note)")
        #expect(note.contains("`shardplan models gpt3-125m --pad-vocab 1024`"), "\(note)")
        let bert = try ModelCatalog.model(id: "bert-large")!.build()
        #expect(VocabularyPadding.searchNote(graph: bert, cluster: node)?.contains("tensor-parallel sizes of at most 2") == true)
        // A GB200 NVL72 rack's NVLink domain is 72 GPUs (4 a tray): tensor parallelism reaches 8 there too.
        #expect(VocabularyPadding.searchNote(graph: bert, cluster: try Cluster.preset(named: "gb200-nvl72"))?.contains("pads it to 30720 at tp = 8") == true)
        // A padded graph, one whose vocabulary splits 8 ways, and one device draw no note.
        let padded = try ModelCatalog.model(id: "gpt3-125m")!.build(sequenceLength: nil, globalBatch: nil, vocabularyMultiple: 1024)
        #expect(VocabularyPadding.searchNote(graph: padded, cluster: node) == nil)
        #expect(VocabularyPadding.searchNote(graph: try ModelCatalog.model(id: "gpt-tiny")!.build(), cluster: node) == nil)
        #expect(VocabularyPadding.searchNote(graph: gpt, cluster: try Cluster.preset(named: "single-h100")) == nil)
        // A graph not in the catalog is told to pad its own vocabulary.
        var renamed = gpt
        renamed.name = "mine"
        #expect(VocabularyPadding.searchNote(graph: renamed, cluster: node)?.contains("pad the graph's vocabulary") == true)
        // A catalog model at another shape is told the catalog command, with the options that built it.
        let long = try ModelCatalog.model(id: "gpt3-125m")!.build(sequenceLength: 4096, globalBatch: nil)
        #expect(VocabularyPadding.searchNote(graph: long, cluster: node)?.contains("`shardplan models gpt3-125m --pad-vocab 1024` with the options that built gpt3-125m-seq4096") == true)
    }
}
