package io.trackwire.client;

import com.google.api.FieldBehavior;
import com.google.api.FieldBehaviorProto;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import com.google.protobuf.MessageOrBuilder;
import java.util.Base64;
import java.util.Locale;
import java.util.Map;

/**
 * Messages to and from the JSON of MLflow's REST API, as the gateway speaks it: proto field
 * names, int64 as JSON numbers, enum values without their type's prefix (RunStatus
 * {@code RUN_STATUS_FINISHED} is {@code "FINISHED"}), non-finite doubles as {@code "NaN"},
 * {@code "Infinity"}, {@code "-Infinity"}, bytes in base64. protobuf-java-util's JsonFormat
 * would write int64 as strings and reject the short enum names, hence this small mapping.
 * Unknown fields in a response are ignored, as MLflow's clients do.
 */
final class GatewayJson {
  private GatewayJson() {}

  /**
   * The JSON object of a message's set fields, and of its numbers and booleans even when zero:
   * the gateway, like MLflow's server, takes an absent required field (a metric's value or
   * timestamp) for a missing one, and 0 is a value. OPTIONAL fields at their default are left
   * out: there the gateway tells "not sent" (the default) from 0 (a search's max_results, which
   * MLflow's API refuses as 0).
   */
  static JsonObject write(MessageOrBuilder message) {
    JsonObject json = new JsonObject();
    for (FieldDescriptor field : message.getDescriptorForType().getFields()) {
      if (field.isRepeated()) {
        if (message.getRepeatedFieldCount(field) == 0) {
          continue;
        }
        JsonArray values = new JsonArray();
        for (Object value : (Iterable<?>) message.getField(field)) {
          values.add(writeValue(field, value));
        }
        json.add(field.getName(), values);
      } else if (message.hasField(field)
          || (!field.hasPresence() && isNumberOrBoolean(field) && !isOptional(field))) {
        json.add(field.getName(), writeValue(field, message.getField(field)));
      }
    }
    return json;
  }

  private static boolean isOptional(FieldDescriptor field) {
    return field.getOptions().getExtension(FieldBehaviorProto.fieldBehavior)
        .contains(FieldBehavior.OPTIONAL);
  }

  private static boolean isNumberOrBoolean(FieldDescriptor field) {
    switch (field.getJavaType()) {
      case INT:
      case LONG:
      case FLOAT:
      case DOUBLE:
      case BOOLEAN:
        return true;
      default:
        return false;
    }
  }

  private static JsonElement writeValue(FieldDescriptor field, Object value) {
    switch (field.getJavaType()) {
      case MESSAGE:
        return write((Message) value);
      case ENUM:
        return new JsonPrimitive(shortName((EnumValueDescriptor) value));
      case BYTE_STRING:
        return new JsonPrimitive(Base64.getEncoder().encodeToString(((ByteString) value).toByteArray()));
      case DOUBLE:
      case FLOAT:
        double number = ((Number) value).doubleValue();
        return Double.isNaN(number) || Double.isInfinite(number)
            ? new JsonPrimitive(Double.toString(number)) // "NaN", "Infinity", "-Infinity"
            : new JsonPrimitive((Number) value);
      case BOOLEAN:
        return new JsonPrimitive((Boolean) value);
      case STRING:
        return new JsonPrimitive((String) value);
      default:
        return new JsonPrimitive((Number) value);
    }
  }

  /** Merges a JSON object into a builder of its message type. */
  static void read(JsonObject json, Message.Builder builder) {
    for (Map.Entry<String, JsonElement> entry : json.entrySet()) {
      FieldDescriptor field = builder.getDescriptorForType().findFieldByName(entry.getKey());
      JsonElement value = entry.getValue();
      if (field == null || value.isJsonNull()) {
        continue;
      }
      if (field.isRepeated()) {
        for (JsonElement element : value.getAsJsonArray()) {
          builder.addRepeatedField(field, readValue(field, element, builder));
        }
      } else {
        builder.setField(field, readValue(field, value, builder));
      }
    }
  }

  private static Object readValue(FieldDescriptor field, JsonElement value, Message.Builder parent) {
    switch (field.getJavaType()) {
      case MESSAGE:
        Message.Builder child = parent.newBuilderForField(field);
        read(value.getAsJsonObject(), child);
        return child.build();
      case ENUM:
        return enumValue(field.getEnumType(), value);
      case BYTE_STRING:
        return ByteString.copyFrom(Base64.getDecoder().decode(value.getAsString()));
      case DOUBLE:
        return value.getAsDouble(); // Double.parseDouble reads "NaN" and "Infinity" too
      case FLOAT:
        return value.getAsFloat();
      case BOOLEAN:
        return value.getAsBoolean();
      case STRING:
        return value.getAsString();
      case LONG:
        return value.getAsLong();
      default:
        return value.getAsInt();
    }
  }

  private static EnumValueDescriptor enumValue(EnumDescriptor type, JsonElement value) {
    JsonPrimitive primitive = value.getAsJsonPrimitive();
    if (primitive.isNumber()) {
      return type.findValueByNumberCreatingIfUnknown(primitive.getAsInt());
    }
    String name = primitive.getAsString();
    EnumValueDescriptor found = type.findValueByName(name);
    if (found == null) {
      found = type.findValueByName(prefix(type) + name);
    }
    return found != null ? found : type.findValueByNumber(0);
  }

  /** RUN_STATUS_FINISHED of RunStatus: "FINISHED". */
  private static String shortName(EnumValueDescriptor value) {
    String prefix = prefix(value.getType());
    String name = value.getName();
    return name.startsWith(prefix) ? name.substring(prefix.length()) : name;
  }

  /** RunStatus: "RUN_STATUS_", the prefix buf's lint makes every value carry. */
  private static String prefix(EnumDescriptor type) {
    return type.getName().replaceAll("(?<=.)(?=\\p{Upper})", "_").toUpperCase(Locale.ROOT) + "_";
  }
}
