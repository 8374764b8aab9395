global using Stedi.Lakehouse.Contracts;
global using Stedi.Lakehouse.Ports;
