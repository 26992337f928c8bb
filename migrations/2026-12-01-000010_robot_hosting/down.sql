DROP TABLE hosting_changes;
