package io.ragengine.openai;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.databind.ObjectMapper;
import okhttp3.MediaType;

/** The shared, thread-safe Jackson objects. */
final class Json {
  static final ObjectMapper MAPPER = new ObjectMapper();
  static final JsonFactory FACTORY = MAPPER.getFactory();
  static final MediaType MEDIA_TYPE = MediaType.get("application/json");

  private Json() {}
}
