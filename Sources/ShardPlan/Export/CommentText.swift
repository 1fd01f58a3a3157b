/// Text made safe for a `#` comment line of the emitted settings, whatever it quotes (a graph's name, the
/// `--cluster` argument, a plan file's mesh axis names). Megatron-LM's and NeMo's settings are shell
/// commands and torchtitan's a TOML file; in both a comment runs to the end of its line, so a line break in
/// the text would end the comment and start a command or a key. `VisibleText` writes those characters (and
/// the invisible ones, which TOML forbids in comments) as escapes; inside a comment a quote, backslash, `$()`
/// or backtick is text.
enum CommentText {
    /// `text` as one `#` comment line: `# ` and the escaped text.
    static func line(_ text: String) -> String { "# " + VisibleText.escape(text) }
}
