package io.ragengine.model;

import java.util.Objects;

/**
 * One message of a chat: a {@link Role} and its text.
 *
 * <p>Immutable. {@link #toString()} shows the role and the length of the content, never the
 * content itself, so that a message logged by accident leaks no prompt or document text.
 *
 * @param role who speaks
 * @param content the text; may be empty
 */
public record Message(Role role, String content) {

  /**
   * @throws NullPointerException if {@code role} or {@code content} is null
   */
  public Message {
    Objects.requireNonNull(role, "role");
    Objects.requireNonNull(content, "content");
  }

  /** Returns a {@link Role#SYSTEM} message. */
  public static Message system(String content) {
    return new Message(Role.SYSTEM, content);
  }

  /** Returns a {@link Role#USER} message. */
  public static Message user(String content) {
    return new Message(Role.USER, content);
  }

  /** Returns an {@link Role#ASSISTANT} message. */
  public static Message assistant(String content) {
    return new Message(Role.ASSISTANT, content);
  }

  @Override
  public String toString() {
    return "Message[role=" + role + ", content=<" + content.length() + " chars>]";
  }
}
