.class public Lcom/northwind/Sync;
.super Landroid/app/Activity;
.source "Sync.java"

# Two endpoints whose host is a string resource, read with getString:
# one by the activity itself (a Context subclass calls its own), one
# through Resources, then joined with constants.

.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Landroid/app/Activity;-><init>()V
    return-void
.end method

.method public searchUrl()Ljava/lang/String;
    .registers 3
    new-instance v0, Ljava/lang/StringBuilder;
    invoke-direct {v0}, Ljava/lang/StringBuilder;-><init>()V
    const v1, 0x7f010002
    invoke-virtual {p0, v1}, Lcom/northwind/Sync;->getString(I)Ljava/lang/String;
    move-result-object v1
    invoke-virtual {v0, v1}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    const-string v1, ":9200/_search"
    invoke-virtual {v0, v1}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    invoke-virtual {v0}, Ljava/lang/StringBuilder;->toString()Ljava/lang/String;
    move-result-object v0
    return-object v0
.end method

.method public cacheUrl()Ljava/lang/String;
    .registers 4
    invoke-virtual {p0}, Lcom/northwind/Sync;->getResources()Landroid/content/res/Resources;
    move-result-object v0
    const-string v1, "redis://"
    const v2, 0x7f010003
    invoke-virtual {v0, v2}, Landroid/content/res/Resources;->getString(I)Ljava/lang/String;
    move-result-object v2
    invoke-virtual {v1, v2}, Ljava/lang/String;->concat(Ljava/lang/String;)Ljava/lang/String;
    move-result-object v1
    return-object v1
.end method

.method public unknownId()Ljava/lang/String;
    .registers 3
    const-string v0, "http://"
    const v1, 0x7f0100ff
    invoke-virtual {p0, v1}, Lcom/northwind/Sync;->getString(I)Ljava/lang/String;
    move-result-object v1
    invoke-virtual {v0, v1}, Ljava/lang/String;->concat(Ljava/lang/String;)Ljava/lang/String;
    move-result-object v0
    return-object v0
.end method
