extension ModelCatalog {
    /// BERT-large (Devlin et al. 2019, arXiv:1810.04805, §3 and Appendix A.2): 24 layers, hidden 1024, 16
    /// heads, WordPiece vocabulary 30522 (the released `bert-large-uncased` config), 512-token sequences,
    /// batch 256 sequences. The paper prints "340M"; the Hugging Face model card of `bert-large-uncased`
    /// prints 336M, the count of its checkpoint with the pre-training heads. The graph is the masked-LM
    /// pre-training model without the next-sentence head and pooler (as RoBERTa trains), 335.2M.
    static let bertLarge = Entry(
        id: "bert-large",
        description: "BERT-large: 24 post-norm encoder layers, hidden 1024, 16 heads, masked-LM head",
        publishedParameterCount: 336_000_000,
        source: "Devlin et al. 2019 (arXiv:1810.04805) §3, A.2: batch 256 x 512; 336M parameters per the "
            + "Hugging Face bert-large-uncased model card (the paper rounds to 340M)",
        transformer: .bert(layers: 24, hidden: 1024, heads: 16, vocabulary: 30522, sequenceLength: 512, globalBatch: 256))
}
