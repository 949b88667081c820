/**
 * The Apache Kafka event log.
 * @module
 */
export { createKafkaEventLog, type KafkaEventLog } from './event-log.ts'
export { kafkaEventLogDefaults, kafkaSaslMechanisms, type KafkaCredential, type KafkaEventLogOptions, type KafkaSaslMechanism, type KafkaSaslOptions } from './options.ts'
