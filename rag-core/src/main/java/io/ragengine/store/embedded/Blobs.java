package io.ragengine.store.embedded;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The binary column formats of the database: little-endian float32 vectors, and lists and maps
 * of strings as a count followed by length-prefixed UTF-8. Kept here, not in JSON, so rag-core's
 * storage needs no JSON library.
 */
final class Blobs {
  private Blobs() {}

  static byte[] vector(float[] vector) {
    ByteBuffer buffer = ByteBuffer.allocate(vector.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    buffer.asFloatBuffer().put(vector);
    return buffer.array();
  }

  static float[] vector(byte[] blob) {
    float[] out = new float[blob.length / 4];
    ByteBuffer.wrap(blob).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
    return out;
  }

  static byte[] strings(List<String> strings) {
    List<byte[]> encoded = new ArrayList<>(strings.size());
    int length = 4;
    for (String s : strings) {
      byte[] b = s.getBytes(StandardCharsets.UTF_8);
      encoded.add(b);
      length += 4 + b.length;
    }
    ByteBuffer buffer = ByteBuffer.allocate(length);
    buffer.putInt(strings.size());
    for (byte[] b : encoded) {
      buffer.putInt(b.length).put(b);
    }
    return buffer.array();
  }

  static List<String> strings(byte[] blob) {
    ByteBuffer buffer = ByteBuffer.wrap(blob);
    int count = buffer.getInt();
    List<String> out = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      byte[] b = new byte[buffer.getInt()];
      buffer.get(b);
      out.add(new String(b, StandardCharsets.UTF_8));
    }
    return out;
  }

  static byte[] map(Map<String, String> map) {
    List<String> flat = new ArrayList<>(map.size() * 2);
    for (Map.Entry<String, String> e : new TreeMap<>(map).entrySet()) {
      flat.add(e.getKey());
      flat.add(e.getValue());
    }
    return strings(flat);
  }

  static Map<String, String> map(byte[] blob) {
    List<String> flat = strings(blob);
    Map<String, String> out = new LinkedHashMap<>();
    for (int i = 0; i + 1 < flat.size(); i += 2) {
      out.put(flat.get(i), flat.get(i + 1));
    }
    return out;
  }
}
