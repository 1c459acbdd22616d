package io.ragengine.text;

/**
 * Passes every call to another tokenizer; tests override what they need. The chunker does not
 * recognise it as jtokkit's, so it always decodes windows through it.
 */
public class ForwardingTokenizer implements Tokenizer {
  private final Tokenizer delegate;

  public ForwardingTokenizer(Tokenizer delegate) {
    this.delegate = delegate;
  }

  @Override
  public String name() {
    return delegate.name();
  }

  @Override
  public int[] encode(String text) {
    return delegate.encode(text);
  }

  @Override
  public int count(String text) {
    return delegate.count(text);
  }

  @Override
  public String decode(int[] tokens, int from, int to) {
    return delegate.decode(tokens, from, to);
  }

  @Override
  public boolean startsCharacter(int token) {
    return delegate.startsCharacter(token);
  }
}
