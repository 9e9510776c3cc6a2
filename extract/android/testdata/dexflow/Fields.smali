.class public Lcom/northwind/Queue;
.super Ljava/lang/Object;
.source "Queue.java"

# A broker's host and port kept in instance fields, set from constants in
# the constructor and joined in another method; and a field stored two
# different values, which is no constant.

.field private final host:Ljava/lang/String;
.field private final port:I
.field private path:Ljava/lang/String;

.method public constructor <init>()V
    .registers 2
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    const-string v0, "queue.northwind.com"
    iput-object v0, p0, Lcom/northwind/Queue;->host:Ljava/lang/String;
    const/16 v0, 0x1628
    iput v0, p0, Lcom/northwind/Queue;->port:I
    const-string v0, "/v1"
    iput-object v0, p0, Lcom/northwind/Queue;->path:Ljava/lang/String;
    return-void
.end method

.method public setPath()V
    .registers 2
    const-string v0, "/v2"
    iput-object v0, p0, Lcom/northwind/Queue;->path:Ljava/lang/String;
    return-void
.end method

.method public url()Ljava/lang/String;
    .registers 3
    new-instance v0, Ljava/lang/StringBuilder;
    const-string v1, "amqp://"
    invoke-direct {v0, v1}, Ljava/lang/StringBuilder;-><init>(Ljava/lang/String;)V
    iget-object v1, p0, Lcom/northwind/Queue;->host:Ljava/lang/String;
    invoke-virtual {v0, v1}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    const-string v1, ":"
    invoke-virtual {v0, v1}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    iget v1, p0, Lcom/northwind/Queue;->port:I
    invoke-virtual {v0, v1}, Ljava/lang/StringBuilder;->append(I)Ljava/lang/StringBuilder;
    invoke-virtual {v0}, Ljava/lang/StringBuilder;->toString()Ljava/lang/String;
    move-result-object v0
    return-object v0
.end method

.method public withPath()Ljava/lang/String;
    .registers 3
    const-string v0, "https://api.northwind.com"
    iget-object v1, p0, Lcom/northwind/Queue;->path:Ljava/lang/String;
    invoke-virtual {v0, v1}, Ljava/lang/String;->concat(Ljava/lang/String;)Ljava/lang/String;
    move-result-object v0
    return-object v0
.end method
