package io.ragengine.openai;

import java.util.ArrayList;
import java.util.List;

/**
 * Removes secrets (the API key, extra header values) and, for one call, quotes of the texts sent,
 * from anything the provider sent back before it goes into an exception or a log line. A provider
 * that echoes part of a prompt in its error message ("... your input 'Lorem ipsum ...' is too
 * long") would otherwise put document text in an exception. Immutable.
 */
final class Redactor {
  /** Quotes shorter than this are not looked for: they occur in error messages by chance. */
  static final int WINDOW = 24;

  /** Any quote of at least {@code WINDOW + STEP - 1} chars contains a window at a multiple of STEP. */
  private static final int STEP = 8;

  private final List<String> secrets;
  private final List<String> inputs;

  Redactor(List<String> secrets) {
    this(secrets, List.of());
  }

  private Redactor(List<String> secrets, List<String> inputs) {
    this.secrets = secrets;
    this.inputs = inputs;
  }

  /** Returns a redactor that also hides quotes of these inputs (prompts, texts to embed). */
  Redactor withInputs(List<String> texts) {
    List<String> kept = new ArrayList<>();
    for (String t : texts) {
      if (t.length() >= WINDOW) {
        kept.add(t);
      }
    }
    return kept.isEmpty() ? this : new Redactor(secrets, kept);
  }

  String redact(String text) {
    String out = text;
    for (String s : secrets) {
      if (!s.isEmpty() && out.contains(s)) {
        out = out.replace(s, "<redacted>");
      }
    }
    if (inputs.isEmpty() || out.length() < WINDOW) {
      return out;
    }
    boolean[] quoted = new boolean[out.length()];
    boolean any = false;
    for (int start = 0; start + WINDOW <= out.length(); start += STEP) {
      String window = out.substring(start, start + WINDOW);
      for (String input : inputs) {
        if (input.contains(window)) {
          // Widen to the whole quote, char by char, while it stays a substring of this input.
          int from = start;
          while (from > 0 && input.contains(out.substring(from - 1, start + WINDOW))) {
            from--;
          }
          int to = start + WINDOW;
          while (to < out.length() && input.contains(out.substring(from, to + 1))) {
            to++;
          }
          for (int i = from; i < to; i++) {
            quoted[i] = true;
          }
          any = true;
          break;
        }
      }
    }
    if (!any) {
      return out;
    }
    StringBuilder sb = new StringBuilder(out.length());
    for (int i = 0; i < out.length(); i++) {
      if (!quoted[i]) {
        sb.append(out.charAt(i));
      } else if (i == 0 || !quoted[i - 1]) {
        sb.append("<input text>");
      }
    }
    return sb.toString();
  }
}
